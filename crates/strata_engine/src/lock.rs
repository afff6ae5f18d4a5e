//! The migration lock as a type: every command that writes history (`up`,
//! `down`, `redo`, `repair`, `baseline`, `fresh`, `adopt`, `restore`) gets
//! its connection as a [`Locked`] session, so none can write without
//! holding the lock.

use crate::events::{Event, Reporter};
use crate::report::ms;
use crate::{Engine, EngineError};
use std::time::{Duration, Instant};
use strata_driver::{Driver, LockAttempt};

/// A connection holding the migration lock. Dropping it releases the lock
/// too (the connection ends); [`Locked::release`] is the polite way.
pub(crate) struct Locked<'d> {
    driver: Connection<'d>,
}

/// The connection a run holds the lock on: strata's own, or one the
/// program embedding it lent for the run.
enum Connection<'d> {
    Own(Box<dyn Driver>),
    Lent(&'d mut dyn Driver),
}

impl Locked<'_> {
    pub(crate) fn driver(&mut self) -> &mut dyn Driver {
        match &mut self.driver {
            Connection::Own(driver) => driver.as_mut(),
            Connection::Lent(driver) => &mut **driver,
        }
    }

    /// Releases the lock; `result` (the work done under it) wins over a
    /// failure to release.
    pub(crate) async fn release<T>(
        mut self,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let released = self.driver().unlock().await;
        let value = result?;
        released?;
        Ok(value)
    }
}

impl Engine {
    /// Takes the migration lock, waiting up to the lock timeout and saying
    /// who holds it. With `terminate` (`--terminate-stale`; `Some(yes)`),
    /// a holder is ended instead, once confirmed (or with --yes): a killed
    /// run's session the server keeps running.
    pub(crate) async fn locked<'d>(
        &self,
        reporter: &dyn Reporter,
        terminate: Option<bool>,
    ) -> Result<Locked<'d>, EngineError> {
        let mut driver = self.connect().await?;
        self.take_lock(driver.as_mut(), reporter, terminate).await?;
        Ok(Locked {
            driver: Connection::Own(driver),
        })
    }

    /// Takes the migration lock on a connection the program lent.
    pub(crate) async fn locked_on<'d>(
        &self,
        driver: &'d mut dyn Driver,
        reporter: &dyn Reporter,
    ) -> Result<Locked<'d>, EngineError> {
        self.take_lock(driver, reporter, None).await?;
        Ok(Locked {
            driver: Connection::Lent(driver),
        })
    }

    async fn take_lock(
        &self,
        driver: &mut dyn Driver,
        reporter: &dyn Reporter,
        terminate: Option<bool>,
    ) -> Result<(), EngineError> {
        let since = Instant::now();
        let mut last: Option<strata_driver::LockHolder> = None;
        loop {
            match driver.try_lock(self.lock_mode).await? {
                LockAttempt::Held(holder)
                    if terminate.is_some()
                        && holder.pid.is_some()
                        && last.as_ref() != Some(&holder) =>
                {
                    let pid = holder.pid.expect("checked");
                    if !(terminate == Some(true) || reporter.confirm_terminate(&holder)) {
                        return Err(EngineError::Refused(format!(
                            "the migration lock is held by {holder}; ending it was not confirmed: confirm at a terminal, or pass --yes with --terminate-stale"
                        )));
                    }
                    let ended = driver.terminate_holder(pid).await?;
                    reporter.event(&Event::Warning {
                        message: if ended {
                            format!("ended the session holding the migration lock: {holder}")
                        } else {
                            format!("could not end the session holding the migration lock ({holder}); waiting for it")
                        },
                    });
                    last = Some(holder);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                LockAttempt::Acquired => {
                    if last.is_some() {
                        reporter.event(&Event::LockAcquired {
                            waited_ms: ms(since.elapsed()),
                        });
                    }
                    return Ok(());
                }
                LockAttempt::Held(holder) => {
                    let waited = since.elapsed();
                    if waited >= self.lock_wait {
                        return Err(EngineError::LockTimeout {
                            table: driver.history_table(),
                            holder: Box::new(holder),
                            waited,
                        });
                    }
                    // Told once per holder: its query and times change
                    // while it holds the lock (MySQL reports them anew).
                    if !last.as_ref().is_some_and(|l| same_session(l, &holder)) {
                        reporter.event(&Event::LockWaiting {
                            holder: holder.clone(),
                        });
                        last = Some(holder);
                    }
                    let pause = Duration::from_millis(200).min(self.lock_wait - waited);
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

/// Whether two looks at the lock's holder saw the same session.
fn same_session(a: &strata_driver::LockHolder, b: &strata_driver::LockHolder) -> bool {
    match (a.pid, b.pid) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
