//! Backups encrypted with age to X25519 recipients (`[backup] encrypt`):
//! written through the encryption as they are made, so no plain copy is
//! ever on disk, and read back through an identity file (`--identity`,
//! `STRATA_BACKUP_IDENTITY`). No passphrases: nothing ever prompts.

use std::io::{BufReader, Read, Write};
use std::path::Path;

/// The recipients of `[backup] encrypt`, each an `age1...` public key.
pub(crate) fn recipients(keys: &[String]) -> Result<Vec<age::x25519::Recipient>, String> {
    if keys.is_empty() {
        return Err("encrypt has no recipients".into());
    }
    keys.iter()
        .map(|k| {
            k.trim().parse().map_err(|e| {
                format!("`{k}` is not an age X25519 recipient ({e}); write the public key age-keygen printed (age1...)")
            })
        })
        .collect()
}

/// A new file at `path` (0600) that encrypts what is written to it for
/// `recipients`; [`Sealed::finish`] ends it.
pub(crate) fn seal(path: &Path, keys: &[String]) -> Result<Sealed, String> {
    let recipients = recipients(keys)?;
    let file = strata_driver::backup::create_private(path)?;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| format!("cannot encrypt: {e}"))?;
    let writer = encryptor
        .wrap_output(std::io::BufWriter::new(file))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Sealed(writer))
}

/// An encrypting backup file being written.
pub(crate) struct Sealed(age::stream::StreamWriter<std::io::BufWriter<std::fs::File>>);

impl Sealed {
    /// Writes the last chunk: a file not finished does not decrypt.
    pub(crate) fn finish(self) -> Result<(), String> {
        self.0
            .finish()
            .and_then(|mut out| out.flush().and_then(|()| out.get_ref().sync_all()))
            .map_err(|e| format!("cannot finish the encrypted backup: {e}"))
    }
}

impl Write for Sealed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The backup at `path` decrypted as it is read, with the identities of
/// the file `identity`.
pub(crate) fn open(path: &Path, identity: &Path) -> Result<Box<dyn Read + Send>, String> {
    let name = identity.display().to_string();
    let identities = age::IdentityFile::from_file(name.clone())
        .map_err(|e| format!("cannot read the identity file {name}: {e}"))?
        .into_identities()
        .map_err(|e| format!("the identity file {name} holds no usable age identity: {e}"))?;
    if identities.is_empty() {
        return Err(format!(
            "the identity file {name} holds no age identity (AGE-SECRET-KEY-1...)"
        ));
    }
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(file))
        .map_err(|e| format!("{} is not an age file: {e}", path.display()))?;
    let reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                format!("the identity file {name} holds no key this backup was encrypted for")
            }
            other => format!("cannot decrypt {}: {other}", path.display()),
        })?;
    Ok(Box::new(reader))
}
