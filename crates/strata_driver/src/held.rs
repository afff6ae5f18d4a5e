//! A driver's connection: its own, or one a program lends it for a run.

use std::ops::{Deref, DerefMut};

/// A connection a driver opened itself (and closes when dropped), or one
/// borrowed from the program embedding strata, which keeps it afterwards.
pub enum Held<'a, T> {
    Own(T),
    Lent(&'a mut T),
}

impl<T> Held<'_, T> {
    /// Whether the connection is the program's: strata then leaves its
    /// session as it found it.
    pub fn is_lent(&self) -> bool {
        matches!(self, Held::Lent(_))
    }
}

impl<T> Deref for Held<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Held::Own(t) => t,
            Held::Lent(t) => t,
        }
    }
}

impl<T> DerefMut for Held<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match self {
            Held::Own(t) => t,
            Held::Lent(t) => t,
        }
    }
}
