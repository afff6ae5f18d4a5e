//! Who a waiting statement waits for, asked from a second connection.

use crate::events::{Event, Reporter};
use std::time::Duration;
use strata_driver::BlockerProbe;
use strata_model::MigrationId;

/// Awaits `work`, asking `probe` every second which sessions block it and
/// reporting each new set of blockers.
pub(super) async fn watch_blockers<T>(
    work: impl std::future::Future<Output = T>,
    probe: Option<&mut Box<dyn BlockerProbe>>,
    id: &MigrationId,
    reporter: &dyn Reporter,
) -> T {
    let Some(probe) = probe else {
        return work.await;
    };
    let mut work = std::pin::pin!(work);
    let every = Duration::from_secs(1);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut reported: Vec<i64> = Vec::new();
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tick.tick() => {
                let Ok(sessions) = probe.blockers().await else { continue };
                let pids: Vec<i64> = sessions.iter().map(|s| s.pid).collect();
                if !sessions.is_empty() && pids != reported {
                    reporter.event(&Event::Blocked {
                        migration: id.to_string(),
                        sessions,
                    });
                }
                reported = pids;
            }
        }
    }
}
