//! Notifications: `[[notify]]` entries are told when a run starts, succeeds
//! or fails: a webhook gets a Slack-compatible JSON body (`text`, plus the
//! details under `strata`), an email address a plain-text message through
//! SMTP. Each has a timeout and retries; a notification that cannot be
//! delivered is a warning, never a failed migration.

use crate::config::{NotifyOn, Project};
use crate::events::{Event, Reporter};
use crate::report::Report;
use std::time::Duration;
use strata_driver::redact_endpoint;

/// What happened, for the message.
pub(crate) struct Notice<'a> {
    pub on: NotifyOn,
    pub command: &'a str,
    pub plan_hash: &'a str,
    pub steps: usize,
    /// Dry runs notify no one.
    pub dry_run: bool,
    pub report: Option<&'a Report>,
    pub error: Option<String>,
}

/// A webhook or a mailbox, ready to send to.
#[derive(Clone)]
#[cfg_attr(not(feature = "notify"), allow(dead_code))]
struct Target {
    url: String,
    /// For an email: sender and recipients (checked when the config loaded).
    email: Option<(String, Vec<String>)>,
    timeout: Duration,
    retries: u32,
}

/// One notice, written for each kind of target.
#[cfg_attr(not(feature = "notify"), allow(dead_code))]
struct Message {
    subject: String,
    text: String,
    json: String,
}

/// The `[[notify]]` entries of a project in one environment.
pub(crate) struct Notifier {
    /// Each entry's events and target; an entry whose URL cannot be
    /// expanded has the reason it cannot be told instead.
    targets: Vec<(Vec<NotifyOn>, Result<Target, String>)>,
    environment: Option<String>,
    /// The database, password hidden.
    database: String,
}

/// Deliveries under way, to be awaited with [`Deliveries::delivered`].
pub(crate) struct Deliveries(Vec<tokio::task::JoinHandle<Result<(), String>>>);

impl Notifier {
    /// Nobody to tell: for a scratch database strata builds itself.
    pub(crate) fn none(database: String) -> Notifier {
        Notifier {
            targets: Vec::new(),
            environment: None,
            database,
        }
    }

    pub(crate) fn new(project: &Project, env_name: Option<&str>, database: String) -> Notifier {
        let env = env_name.unwrap_or("");
        let targets = project
            .config
            .notify
            .iter()
            .filter(|w| w.environments.is_empty() || w.environments.iter().any(|e| e == env))
            .map(|w| {
                let target = project
                    .expand(&w.url, "notify url")
                    .map_err(|e| format!("could not notify {}: {e}", redact_endpoint(&w.url)))
                    .map(|url| Target {
                        url,
                        email: w
                            .from
                            .clone()
                            .filter(|_| !w.to.is_empty())
                            .map(|f| (f, w.to.clone())),
                        timeout: w.timeout.unwrap_or(Duration::from_secs(5)),
                        retries: w.retries,
                    });
                (w.on.clone(), target)
            })
            .collect();
        Notifier {
            targets,
            environment: env_name.map(str::to_string),
            database,
        }
    }

    /// Sends `notice` to every target that wants it.
    pub(crate) fn send(&self, notice: &Notice<'_>) -> Deliveries {
        let targets: Vec<&Result<Target, String>> = self
            .targets
            .iter()
            .filter(|(on, _)| on.contains(&notice.on))
            .map(|(_, t)| t)
            .collect();
        if targets.is_empty() || notice.dry_run {
            return Deliveries(Vec::new());
        }
        let message = std::sync::Arc::new(self.message(notice));
        Deliveries(
            targets
                .into_iter()
                .map(|t| {
                    let message = message.clone();
                    let t = t.clone();
                    tokio::task::spawn_blocking(move || deliver(&t?, &message))
                })
                .collect(),
        )
    }

    fn message(&self, n: &Notice<'_>) -> Message {
        let env = self.environment.clone();
        let place = match &env {
            Some(e) => format!("{e} ({})", self.database),
            None => self.database.clone(),
        };
        let (applied, reverted) = n.report.map_or((0, 0), |r| (r.applied, r.reverted));
        let text = match n.on {
            NotifyOn::Start => format!(
                "strata {} started on {place}: {} step(s), plan {}",
                n.command, n.steps, n.plan_hash
            ),
            NotifyOn::Success => format!(
                "strata {} succeeded on {place}: {applied} applied, {reverted} reverted in {} ms (plan {})",
                n.command,
                n.report.map_or(0, |r| r.duration_ms),
                n.plan_hash
            ),
            NotifyOn::Failure => format!(
                "strata {} FAILED on {place}{}: {}",
                n.command,
                if n.plan_hash.is_empty() {
                    String::new()
                } else {
                    format!(" (plan {})", n.plan_hash)
                },
                n.error.as_deref().unwrap_or("unknown error")
            ),
        };
        let details = serde_json::json!({
            "event": n.on.as_str(),
            "command": n.command,
            "environment": env,
            "database": self.database,
            "plan_hash": n.plan_hash,
            "steps": n.steps,
            "applied": applied,
            "reverted": reverted,
            "failed": n.report.map_or(0, |r| r.failed),
            "error": n.error,
        });
        let outcome = match n.on {
            NotifyOn::Start => "started",
            NotifyOn::Success => "succeeded",
            NotifyOn::Failure => "FAILED",
        };
        let mut mail_text = format!("{text}\n\n");
        for (key, value) in details.as_object().into_iter().flatten() {
            if !value.is_null() {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string);
                mail_text.push_str(&format!("{key}: {value}\n"));
            }
        }
        Message {
            subject: format!("strata {} {outcome} on {place}", n.command),
            json: serde_json::json!({ "text": text, "strata": details }).to_string(),
            text: mail_text,
        }
    }
}

impl Deliveries {
    /// Waits for the deliveries; each one that failed is a warning.
    pub(crate) async fn delivered(self, reporter: &dyn Reporter) {
        for send in self.0 {
            let outcome = send.await.unwrap_or_else(|e| Err(e.to_string()));
            if let Err(message) = outcome {
                reporter.event(&Event::Warning { message });
            }
        }
    }
}

/// Sends `message` as an email through the target's SMTP server, retrying
/// after a failure.
/// Sends `message` to one target.
#[cfg(feature = "notify")]
fn deliver(t: &Target, message: &Message) -> Result<(), String> {
    match &t.email {
        Some((from, to)) => mail(t, from, to, message),
        None => post(t, &message.json),
    }
}

/// Without the `notify` feature, a configured target is refused when the
/// configuration is read; this is never reached.
#[cfg(not(feature = "notify"))]
fn deliver(_: &Target, _: &Message) -> Result<(), String> {
    Err("this build of strata was made without the `notify` feature".into())
}

#[cfg(feature = "notify")]
fn mail(t: &Target, from: &str, to: &[String], message: &Message) -> Result<(), String> {
    use lettre::Transport;
    let failed = |why: String| {
        format!(
            "could not email {} through {}: {why} (the migration's result is not affected)",
            to.join(", "),
            redact_endpoint(&t.url),
        )
    };
    let mailbox = |address: &str| {
        address
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| failed(format!("`{address}`: {e}")))
    };
    let mut email = lettre::Message::builder()
        .from(mailbox(from)?)
        .subject(&message.subject);
    for address in to {
        email = email.to(mailbox(address)?);
    }
    let email = email
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(|e| failed(e.to_string()))?;
    let mailer = lettre::SmtpTransport::from_url(&t.url)
        .map_err(|e| failed(format!("not an SMTP URL ({e})")))?
        .hello_name(lettre::transport::smtp::extension::ClientId::Domain(
            strata_driver::host_name(),
        ))
        .timeout(Some(t.timeout))
        .build();
    let mut last = String::new();
    for attempt in 0..=t.retries {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
        }
        match mailer.send(&email) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(failed(format!("{last} ({} attempt(s))", t.retries + 1)))
}

/// POSTs `body`, retrying after a failure or a non-2xx answer.
#[cfg(feature = "notify")]
fn post(t: &Target, body: &str) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new().timeout(t.timeout).build();
    let mut last = String::new();
    for attempt in 0..=t.retries {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500 * u64::from(attempt)));
        }
        match agent
            .post(&t.url)
            .set("Content-Type", "application/json")
            .send_string(body)
        {
            Ok(_) => return Ok(()),
            Err(ureq::Error::Status(code, _)) => last = format!("it answered HTTP {code}"),
            Err(e) => last = e.kind().to_string(),
        }
    }
    Err(format!(
        "could not notify the webhook at {} after {} attempt(s): {last} (the migration's result is not affected)",
        redact_endpoint(&t.url),
        t.retries + 1
    ))
}
