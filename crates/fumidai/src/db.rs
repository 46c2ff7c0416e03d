//! `fumidai db`: schema migrations and their state.

use clap::Subcommand;
use fumidai_engine::Config;
use fumidai_store::SchemaStatus;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum DbCommand {
    /// Apply pending schema migrations (every command that uses the store also does this first).
    Migrate {
        #[arg(long)]
        json: bool,
    },
    /// Show the backend and which migrations are applied; exits 1 when some are pending.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct StatusOut<'a> {
    location: String,
    backend: &'a str,
    applied: &'a [u32],
    latest: u32,
    pending: Vec<u32>,
}

pub fn run(config: &Config, cmd: &DbCommand) -> anyhow::Result<ExitCode> {
    let location = config.store.location();
    let rt = crate::runtime()?;
    let (status, json) = match cmd {
        DbCommand::Migrate { json } => (rt.block_on(open_and_migrate(&location))?, *json),
        DbCommand::Status { json } => (
            rt.block_on(async {
                let store = fumidai_store::connect(&location).await?;
                store.status().await
            })?,
            *json,
        ),
    };
    let pending: Vec<u32> = (1..=status.latest)
        .filter(|v| !status.applied.contains(v))
        .collect();
    let out = StatusOut {
        location: redact(&location),
        backend: status.backend,
        applied: &status.applied,
        latest: status.latest,
        pending,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("store: {} ({})", out.location, out.backend);
        println!(
            "schema: version {} of {}{}",
            out.applied.iter().max().copied().unwrap_or(0),
            out.latest,
            if out.pending.is_empty() {
                ", up to date".to_owned()
            } else {
                format!(", pending {:?}", out.pending)
            }
        );
    }
    Ok(if out.pending.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn open_and_migrate(location: &str) -> Result<SchemaStatus, fumidai_store::StoreError> {
    let store = fumidai_store::open(location).await?;
    store.status().await
}

/// A store location fit for output and logs: the password of a `scheme://user:password@host` URL is hidden.
pub fn redact(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => location.to_owned(),
        },
        None => location.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://fumidai:s3cret@db.example.jp:5432/fumidai"),
            "postgres://fumidai:***@db.example.jp:5432/fumidai"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(
            redact("/var/lib/fumidai/fumidai.db"),
            "/var/lib/fumidai/fumidai.db"
        );
    }
}
