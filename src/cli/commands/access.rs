//! `latch role …` and `latch group …`: roles and groups by name and path.

use super::{report, run, OPERATOR};
use crate::cli::args::{GroupCommand, RoleCommand};
use crate::config::Settings;
use crate::ids::{ClientId, RealmName};
use crate::operations::groups::{self, GroupRef, Membership, NewGroup};
use crate::operations::roles::{
    self, ClientRef, ClientRoles, Holder, NewRole, RealmRoles, RoleRef, UserRef,
};
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
            client: None,
        } => group_grant_role(settings, RealmName(realm), path, role),
        GroupCommand::GrantRole {
            realm,
            path,
            role,
            client: Some(client),
        } => super::legacy::group_grant_client_role(settings, realm, path, role, client),
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

fn grant_role(
    settings: &Settings,
    realm: RealmName,
    username: String,
    role: String,
    client: Option<String>,
) -> Result<(), StartError> {
    let (user, roles) = (
        UserRef::Username(username.clone()),
        vec![RoleRef::named(&role)],
    );
    match client {
        Some(client) => {
            let input = ClientRoles {
                realm,
                holder: Holder::User(user),
                client: public(client),
                roles,
            };
            run(settings, |latch| {
                Box::pin(roles::grant_client_roles(latch, OPERATOR, input))
            })?
        }
        None => {
            let input = RealmRoles {
                realm,
                holder: Holder::User(user),
                roles,
            };
            run(settings, |latch| {
                Box::pin(roles::grant_realm_roles(latch, OPERATOR, input))
            })?
        }
    }
    println!("{username} now holds {role}");
    Ok(())
}

fn revoke_role(
    settings: &Settings,
    realm: RealmName,
    username: String,
    role: String,
    client: Option<String>,
) -> Result<(), StartError> {
    let (user, roles) = (UserRef::Username(username), vec![RoleRef::named(role)]);
    let outcome = match client {
        Some(client) => {
            let input = ClientRoles {
                realm,
                holder: Holder::User(user),
                client: public(client),
                roles,
            };
            run(settings, |latch| {
                Box::pin(roles::take_client_roles(latch, OPERATOR, input))
            })?
        }
        None => {
            let input = RealmRoles {
                realm,
                holder: Holder::User(user),
                roles,
            };
            run(settings, |latch| {
                Box::pin(roles::take_realm_roles(latch, OPERATOR, input))
            })?
        }
    };
    report(outcome)
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
) -> Result<(), StartError> {
    let input = RealmRoles {
        realm,
        holder: Holder::Group(GroupRef::Path(path.clone())),
        roles: vec![RoleRef::named(&role)],
    };
    run(settings, |latch| {
        Box::pin(roles::grant_realm_roles(latch, OPERATOR, input))
    })?;
    println!("{path} grants {role}");
    Ok(())
}
