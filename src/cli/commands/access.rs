//! `latch role …` and `latch group …`: roles and groups by name and path.

use super::{report, run, OPERATOR};
use crate::cli::args::{GroupCommand, RoleCommand};
use crate::config::Settings;
use crate::ids::{ClientId, RealmName};
use crate::operations::groups::{self, GroupRef, Membership, NewGroup};
use crate::operations::roles::{self, ClientRef, Holder, NewRole, RoleMapping, RoleRef, UserRef};
use crate::revocation::cascade::Outcome;
use crate::setup::StartError;

pub(super) fn role(settings: &Settings, command: RoleCommand) -> Result<(), StartError> {
    match command {
        RoleCommand::Create {
            realm,
            name,
            client,
            description,
        } => create_role(settings, RealmName(realm), name, client, description),
        RoleCommand::Grant {
            realm,
            username,
            role,
            client,
        } => grant_role(settings, RealmName(realm), username, role, client),
        RoleCommand::Revoke {
            realm,
            username,
            role,
            client,
        } => revoke_role(settings, RealmName(realm), username, role, client),
    }
}

pub(super) fn group(settings: &Settings, command: GroupCommand) -> Result<(), StartError> {
    match command {
        GroupCommand::Create { realm, path } => create_group(settings, RealmName(realm), path),
        GroupCommand::List { realm } => list_groups(settings, RealmName(realm)),
        GroupCommand::AddMember {
            realm,
            username,
            path,
        } => add_member(settings, realm, username, path),
        GroupCommand::RemoveMember {
            realm,
            username,
            path,
        } => remove_member(settings, membership(realm, username, path)),
        GroupCommand::GrantRole {
            realm,
            path,
            role,
            client,
        } => group_grant_role(settings, RealmName(realm), path, role, client),
    }
}

fn public(client: String) -> ClientRef {
    ClientRef::Public(ClientId(client))
}

fn create_role(
    settings: &Settings,
    realm: RealmName,
    name: String,
    client: Option<String>,
    description: Option<String>,
) -> Result<(), StartError> {
    let new = NewRole {
        realm,
        client: client.map(public),
        name: name.clone(),
        description,
    };
    run(settings, |latch| {
        Box::pin(roles::create(latch, OPERATOR, new))
    })?;
    println!("created role {name}");
    Ok(())
}

/// A role to grant or take: of the realm, or of `client`.
struct Mapping {
    realm: RealmName,
    holder: Holder,
    role: String,
    client: Option<String>,
}

/// The operation's input for one role of the mapping.
fn mapping(m: Mapping) -> RoleMapping {
    RoleMapping {
        roles: vec![RoleRef::named(&m.role)],
        realm: m.realm,
        holder: m.holder,
        client: m.client.map(public),
    }
}

/// Grants the mapping's role to its holder.
fn grant(settings: &Settings, m: Mapping) -> Result<(), StartError> {
    let input = mapping(m);
    run(settings, |latch| {
        Box::pin(roles::grant_roles(latch, OPERATOR, input))
    })
}

/// Takes the mapping's role from its holder; whoever held it through the
/// holder is cut off.
fn take(settings: &Settings, m: Mapping) -> Result<Outcome, StartError> {
    let input = mapping(m);
    run(settings, |latch| {
        Box::pin(roles::take_roles(latch, OPERATOR, input))
    })
}

fn grant_role(
    settings: &Settings,
    realm: RealmName,
    username: String,
    role: String,
    client: Option<String>,
) -> Result<(), StartError> {
    let said = format!("{username} now holds {role}");
    let holder = Holder::User(UserRef::Username(username));
    grant(
        settings,
        Mapping {
            realm,
            holder,
            role,
            client,
        },
    )?;
    println!("{said}");
    Ok(())
}

fn revoke_role(
    settings: &Settings,
    realm: RealmName,
    username: String,
    role: String,
    client: Option<String>,
) -> Result<(), StartError> {
    let holder = Holder::User(UserRef::Username(username));
    report(take(
        settings,
        Mapping {
            realm,
            holder,
            role,
            client,
        },
    )?)
}

fn membership(realm: String, username: String, path: String) -> Membership {
    Membership {
        realm: RealmName(realm),
        user: UserRef::Username(username),
        group: GroupRef::Path(path),
    }
}

fn create_group(settings: &Settings, realm: RealmName, path: String) -> Result<(), StartError> {
    let new = NewGroup::at_path(realm, &path);
    run(settings, |latch| {
        Box::pin(groups::create(latch, OPERATOR, new))
    })?;
    println!("created group {path}");
    Ok(())
}

fn list_groups(settings: &Settings, realm: RealmName) -> Result<(), StartError> {
    let paths = run(settings, |latch| {
        Box::pin(async move { groups::paths(latch, &realm).await })
    })?;
    for path in paths {
        println!("{path}");
    }
    Ok(())
}

fn add_member(
    settings: &Settings,
    realm: String,
    username: String,
    path: String,
) -> Result<(), StartError> {
    let said = format!("{username} is in {path}");
    let input = membership(realm, username, path);
    run(settings, |latch| {
        Box::pin(groups::join(latch, OPERATOR, input))
    })?;
    println!("{said}");
    Ok(())
}

fn remove_member(settings: &Settings, input: Membership) -> Result<(), StartError> {
    report(run(settings, |latch| {
        Box::pin(groups::leave(latch, OPERATOR, input))
    })?)
}

fn group_grant_role(
    settings: &Settings,
    realm: RealmName,
    path: String,
    role: String,
    client: Option<String>,
) -> Result<(), StartError> {
    let said = format!("{path} grants {role}");
    let holder = Holder::Group(GroupRef::Path(path));
    grant(
        settings,
        Mapping {
            realm,
            holder,
            role,
            client,
        },
    )?;
    println!("{said}");
    Ok(())
}
