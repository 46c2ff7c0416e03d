//! `fumidai user`: the web console's users (the first admin is made here; later ones on the console's users page
//! too). Passwords are read from standard input, never from the command line (where `ps` would show them).

use std::io::BufRead;
use std::process::ExitCode;

use clap::Subcommand;
use fumidai_engine::Config;
use fumidai_server::console::{new_user, user_name};
use fumidai_store::{Role, StoreError};
use serde_json::json;

use fumidai_history::import::time::format_utc;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the password (at least 10 characters) is the first line of standard input.
    Add {
        name: String,
        /// viewer (reads), operator (also releases, deletes, downloads, edits), admin (also users, audit log).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// Every user (never their password hashes).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password from standard input; every session of the user ends.
    Passwd {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Change a user's role (applies to their next request).
    Role {
        name: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Remove a user and end their sessions.
    Remove { name: String },
}

fn parse_role(word: &str) -> Result<Role, String> {
    Role::parse(word).ok_or_else(|| format!("{word:?}: expected viewer, operator or admin"))
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub fn run(config: &Config, cmd: &UserCommand) -> anyhow::Result<ExitCode> {
    // Hashing takes a moment on purpose: it runs before the store is opened.
    let password = match cmd {
        UserCommand::Add { .. } | UserCommand::Passwd { .. } => Some(read_password()?),
        _ => None,
    };
    crate::runtime()?.block_on(async {
        let store = fumidai_store::open(&config.store.location()).await?;
        let now = fumidai_core::unix_now();
        let found = |done: bool, name: &str| {
            if done {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{name}: no such user");
                Ok(ExitCode::from(1))
            }
        };
        match cmd {
            UserCommand::Add {
                name, role, json, ..
            } => {
                let user = new_user(name, password.as_deref().unwrap_or(""), *role, now)?;
                match store.user_create(&user).await {
                    Err(StoreError::Duplicate(name)) => {
                        anyhow::bail!("{name}: a user of that name exists")
                    }
                    other => other?,
                }
                if *json {
                    println!(
                        "{}",
                        json!({"name": user.name, "role": user.role, "created_at": user.created_at})
                    );
                } else {
                    println!("user {} ({}) added", user.name, user.role);
                }
                Ok(ExitCode::SUCCESS)
            }
            UserCommand::List { json } => {
                let users = store.users().await?;
                if *json {
                    for u in &users {
                        println!("{}", serde_json::to_string(u)?);
                    }
                } else {
                    println!("NAME\tROLE\tCREATED\tLAST SIGN-IN");
                    for u in &users {
                        println!(
                            "{}\t{}\t{}\t{}",
                            u.name,
                            u.role,
                            format_utc(u.created_at),
                            u.last_login_at
                                .map(format_utc)
                                .unwrap_or_else(|| "-".into())
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            UserCommand::Passwd { name, .. } => {
                let name = user_name(name)?;
                let hash = fumidai_server::console::password::hash_password(
                    password.as_deref().unwrap_or(""),
                )?;
                found(store.user_set_password(&name, &hash, now).await?, &name)
            }
            UserCommand::Role { name, role } => {
                let name = user_name(name)?;
                found(store.user_set_role(&name, *role).await?, &name)
            }
            UserCommand::Remove { name } => {
                let name = user_name(name)?;
                found(store.user_delete(&name).await?, &name)
            }
        }
    })
}
