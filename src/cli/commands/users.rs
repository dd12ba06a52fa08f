//! `latch user …` and `latch session …`: users by username, sessions by id.

use super::{read_password, report, run, OPERATOR};
use crate::cli::args::{SessionCommand, UserCommand, UserCreateArgs, UserRef as UserArgs};
use crate::config::Settings;
use crate::ids::{RealmName, Sid};
use crate::operations::credentials::{self, PasswordChange};
use crate::operations::second_factor;
use crate::operations::sessions::{self, NoticeFilter};
use crate::operations::users::{self, NewUser, UserChanges, UserRef};
use crate::setup::StartError;

pub(super) fn user(settings: &Settings, command: UserCommand) -> Result<(), StartError> {
    match command {
        UserCommand::Create(args) => create_user(settings, args),
        UserCommand::SetPassword(u) => set_password(settings, u),
        UserCommand::Disable(u) => disable_user(settings, u),
        UserCommand::Enable(u) => enable_user(settings, u),
        UserCommand::LogoutAll(u) => logout_user(settings, u),
        UserCommand::ResetSecondFactor(u) => reset_second_factor(settings, u),
    }
}

pub(super) fn session(settings: &Settings, command: SessionCommand) -> Result<(), StartError> {
    match command {
        SessionCommand::List { realm, user } => list_sessions(settings, RealmName(realm), user),
        SessionCommand::End { realm, sid } => end_session(settings, RealmName(realm), Sid(sid)),
        SessionCommand::Notices { realm, sid } => list_notices(settings, RealmName(realm), sid),
    }
}

/// The realm and the user a command names.
fn named(u: UserArgs) -> (RealmName, UserRef) {
    (RealmName(u.realm), UserRef::Username(u.username))
}

fn create_user(settings: &Settings, args: UserCreateArgs) -> Result<(), StartError> {
    let password = match args.password_stdin {
        true => Some((read_password()?, false)),
        false => None,
    };
    let realm = RealmName(args.realm);
    let new = NewUser {
        username: args.username,
        email: args.email,
        first_name: args.first_name,
        last_name: args.last_name,
        enabled: true,
        password,
        ..Default::default()
    };
    let user = {
        let realm = realm.clone();
        run(settings, |latch| {
            Box::pin(async move { users::create(latch, OPERATOR, &realm, new).await })
        })?
    };
    println!("created user {} in realm {realm}", user.username);
    Ok(())
}

fn set_password(settings: &Settings, u: UserArgs) -> Result<(), StartError> {
    let password = read_password()?;
    let (realm, user) = named(u);
    let change = PasswordChange::Reset { temporary: false };
    let set = run(settings, |latch| {
        Box::pin(async move {
            credentials::set_password(latch, OPERATOR, &realm, &user, password, change).await
        })
    })?;
    report(set.outcome)
}

fn disable_user(settings: &Settings, u: UserArgs) -> Result<(), StartError> {
    let (realm, user) = named(u);
    let changes = UserChanges {
        enabled: Some(false),
        ..Default::default()
    };
    report(run(settings, |latch| {
        Box::pin(async move { users::update(latch, OPERATOR, &realm, &user, changes).await })
    })?)
}

fn enable_user(settings: &Settings, u: UserArgs) -> Result<(), StartError> {
    let (realm, user) = named(u);
    let changes = UserChanges {
        enabled: Some(true),
        ..Default::default()
    };
    run(settings, |latch| {
        Box::pin(async move { users::update(latch, OPERATOR, &realm, &user, changes).await })
    })?;
    println!("enabled");
    Ok(())
}

fn logout_user(settings: &Settings, u: UserArgs) -> Result<(), StartError> {
    let (realm, user) = named(u);
    report(run(settings, |latch| {
        Box::pin(async move { users::logout_all(latch, OPERATOR, &realm, &user).await })
    })?)
}

fn reset_second_factor(settings: &Settings, u: UserArgs) -> Result<(), StartError> {
    let (realm, user) = named(u);
    let (removed, outcome) = run(settings, |latch| {
        Box::pin(async move { second_factor::reset(latch, OPERATOR, &realm, &user).await })
    })?;
    println!("removed {removed} second-factor credential(s)");
    report(outcome)
}

fn list_sessions(
    settings: &Settings,
    realm: RealmName,
    user: Option<String>,
) -> Result<(), StartError> {
    let user = user.map(UserRef::Username);
    let list = run(settings, |latch| {
        Box::pin(async move { sessions::list(latch, &realm, user).await })
    })?;
    println!(
        "{:<24} {:<34} {:>15} {:>15} {:<15} USER AGENT",
        "SID", "USER ID", "STARTED_MS", "LAST_SEEN_MS", "IP"
    );
    for s in list {
        println!(
            "{:<24} {:<34} {:>15} {:>15} {:<15} {}",
            s.id,
            s.user_id,
            s.started_ms,
            s.last_seen_ms,
            s.ip.as_deref().unwrap_or("-"),
            s.user_agent.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

fn end_session(settings: &Settings, realm: RealmName, sid: Sid) -> Result<(), StartError> {
    report(run(settings, |latch| {
        Box::pin(async move { sessions::end(latch, OPERATOR, &realm, &sid).await })
    })?)
}

fn list_notices(
    settings: &Settings,
    realm: RealmName,
    sid: Option<String>,
) -> Result<(), StartError> {
    let filter = NoticeFilter {
        session: sid.map(Sid),
        client: None,
        max: 200,
    };
    let list = run(settings, |latch| {
        Box::pin(async move { sessions::notices(latch, &realm, filter).await })
    })?;
    println!(
        "{:<24} {:<20} {:<10} {:>8} {:>15} ERROR",
        "SID", "CLIENT", "STATUS", "ATTEMPTS", "NEXT_OR_DONE_MS"
    );
    for n in list {
        let when = n.delivered_ms.or(n.gave_up_ms).unwrap_or(n.next_attempt_ms);
        println!(
            "{:<24} {:<20} {:<10} {:>8} {:>15} {}",
            n.session_id,
            n.client_id,
            n.status,
            n.attempts,
            when,
            n.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
