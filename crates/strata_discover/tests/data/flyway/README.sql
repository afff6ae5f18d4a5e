notes
