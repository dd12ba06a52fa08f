//! What a database holds before anyone configured anything: the `master`
//! realm with its admin, and (with `--demo`) a realm to try Latch with.

use crate::crypto::{self, MasterKey};
use crate::error::Error;
use crate::store::{self, DbConnection};

use super::clients::{self, Credentials, GrantType, NewClient};
use super::realms;
use super::users::{self, NewUser};
use crate::store::realms::Realm;

pub const MASTER_REALM: &str = "master";
pub const ADMIN_USERNAME: &str = "admin";
pub const DEMO_REALM: &str = "demo";
pub const DEMO_CLIENT: &str = "demo-app";
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8081/callback";
pub const DEMO_USER: &str = "alice";
/// The realm role of `master` that authorizes the admin API and console.
pub const ADMIN_ROLE: &str = "admin";
/// `master`'s public client for scripts (password grant), as in Keycloak.
pub const ADMIN_CLI: &str = "admin-cli";
/// `master`'s public client the admin console signs in with.
pub const CONSOLE_CLIENT: &str = "security-admin-console";
/// Every realm's public client the account page signs in with.
pub const ACCOUNT_CLIENT: &str = "account-console";

/// Creates realm `master` and its `admin` user on first start. Returns the
/// admin password when it was generated, so the caller can show it once.
pub fn ensure_master(
    conn: &mut DbConnection,
    master: &MasterKey,
    admin_password: Option<&str>,
) -> Result<Option<String>, Error> {
    if store::realms::find_by_name(conn, MASTER_REALM)?.is_some() {
        return Ok(None);
    }
    store::write(conn, |conn| create_master(conn, master, admin_password))
}

fn create_master(
    conn: &mut DbConnection,
    master: &MasterKey,
    admin_password: Option<&str>,
) -> Result<Option<String>, Error> {
    let realm = match realms::create(conn, master, MASTER_REALM) {
        Ok(realm) => realm,
        // Another node or process won the race to create it.
        Err(Error::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let (password, generated) = match admin_password {
        Some(p) => (p.to_string(), false),
        None => (crypto::random_token::<15>(), true),
    };
    users::create(
        conn,
        &realm,
        NewUser {
            username: ADMIN_USERNAME.into(),
            email: None,
            first_name: None,
            last_name: None,
            password: Some(password.clone()),
            temporary: false,
            skip_policy: true,
        },
    )?;
    Ok(generated.then_some(password))
}

/// What a newcomer needs to sign in to the demo realm.
pub struct Demo {
    pub client_id: String,
    /// `None` when the secret was changed since the demo was set up.
    pub client_secret: Option<String>,
    pub username: String,
    pub password: Option<String>,
}

/// The demo client's secret: derived from the master key, so every start
/// (and a test or benchmark that knows the key) arrives at the same value.
pub fn demo_client_secret(master: &MasterKey) -> String {
    crypto::b64url(&master.derive("demo client secret"))
}

/// The demo user's password, derived the same way.
pub fn demo_password(master: &MasterKey) -> String {
    crypto::b64url(&master.derive("demo user password")[..9])
}

/// Creates (idempotently) realm `demo`, the confidential client `demo-app`
/// and the user `alice`. Their secrets are derived from the master key, so
/// every start can print the same values without storing them in clear.
pub fn ensure_demo(conn: &mut DbConnection, master: &MasterKey) -> Result<Demo, Error> {
    let realm = match realms::create(conn, master, DEMO_REALM) {
        Ok(realm) => realm,
        Err(Error::Conflict(_)) => realms::find(conn, DEMO_REALM)?,
        Err(e) => return Err(e),
    };
    let (secret, password) = (demo_client_secret(master), demo_password(master));
    let mut demo = Demo {
        client_id: DEMO_CLIENT.into(),
        client_secret: Some(secret.clone()),
        username: DEMO_USER.into(),
        password: Some(password.clone()),
    };
    match clients::create(
        conn,
        master,
        &realm,
        NewClient {
            client_id: DEMO_CLIENT.into(),
            credentials: Credentials::Secret(secret.clone()),
            redirect_uris: vec![DEMO_REDIRECT_URI.into()],
            post_logout_redirect_uris: vec!["http://127.0.0.1:8081/".into()],
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
            backchannel_logout_uri: None,
            consent_required: false,
            introspect_any: false,
            frontchannel_logout_uri: None,
        },
    ) {
        Ok(_) => {}
        Err(Error::Conflict(_)) => {
            let row = store::clients::find_by_client_id(conn, &realm.id, DEMO_CLIENT)?
                .ok_or_else(|| Error::NotFound(format!("client `{DEMO_CLIENT}`")))?;
            let client = clients::Client::from_row(row)?;
            if !client.secret_matches(&clients::secret_pepper(master), &secret) {
                demo.client_secret = None;
            }
        }
        Err(e) => return Err(e),
    }
    let new_user = NewUser {
        username: DEMO_USER.into(),
        email: Some("alice@example.com".into()),
        first_name: Some("Alice".into()),
        last_name: Some("Liddell".into()),
        password: Some(password.clone()),
        temporary: false,
        skip_policy: true,
    };
    match users::create(conn, &realm, new_user) {
        Ok(_) => {}
        Err(Error::Conflict(_)) => {
            let user = store::users::find_by_username(conn, &realm.id, DEMO_USER)?;
            let still_set = user
                .and_then(|u| u.password_hash)
                .is_some_and(|h| crate::login::password::verify(&password, &h));
            if !still_set {
                demo.password = None;
            }
        }
        Err(e) => return Err(e),
    }
    Ok(demo)
}

/// Where the admin console receives its authorization response.
pub fn console_redirect_uri(public_base: &str) -> String {
    format!("{public_base}/admin/console/callback")
}

/// Where a realm's account page receives its authorization response.
pub fn account_redirect_uri(public_base: &str, realm: &str) -> String {
    format!("{public_base}/realms/{realm}/account/callback")
}

/// The built-in clients and roles, created when missing and pointed at the
/// current public base URL (run at every start, and for each new realm):
/// `master` gets its `admin` role (held by the `admin` user when nobody
/// holds it), `admin-cli` and `security-admin-console`; every realm gets
/// `account-console`.
pub fn ensure_builtins(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm: &Realm,
    public_base: &str,
) -> Result<(), Error> {
    store::write(conn, |conn| {
        super::scopes::seed(conn, realm)?;
        if realm.name == MASTER_REALM {
            let role = users::ensure_role(conn, realm, ADMIN_ROLE, "Administers every realm")?;
            if store::roles::holders(conn, &role.id)? == 0 {
                if let Some(admin) =
                    store::users::find_by_username(conn, &realm.id, ADMIN_USERNAME)?
                {
                    store::roles::grant(conn, &admin.id, &role.id)?;
                }
            }
            builtin_client(
                conn,
                master,
                realm,
                ADMIN_CLI,
                None,
                &[GrantType::Password, GrantType::RefreshToken],
            )?;
            builtin_client(
                conn,
                master,
                realm,
                CONSOLE_CLIENT,
                Some(console_redirect_uri(public_base)),
                &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            )?;
        }
        builtin_client(
            conn,
            master,
            realm,
            ACCOUNT_CLIENT,
            Some(account_redirect_uri(public_base, &realm.name)),
            &[GrantType::AuthorizationCode],
        )
    })
}

/// A public built-in client; an existing one only has its redirect URI
/// moved to the current base URL.
fn builtin_client(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm: &Realm,
    client_id: &str,
    redirect_uri: Option<String>,
    grants: &[GrantType],
) -> Result<(), Error> {
    let redirect_uris: Vec<String> = redirect_uri.into_iter().collect();
    if let Some(row) = store::clients::find_by_client_id(conn, &realm.id, client_id)? {
        let wanted = serde_json::to_string(&redirect_uris).unwrap_or_default();
        if row.redirect_uris != wanted {
            let changes = store::clients::ClientChanges {
                redirect_uris: Some(wanted.clone()),
                post_logout_redirect_uris: Some(wanted),
                ..Default::default()
            };
            store::clients::update(conn, &row.id, &changes)?;
            crate::revocation::record(
                conn,
                &realm.id,
                crate::revocation::EventKind::Client,
                client_id,
                None,
            )?;
        }
        return Ok(());
    }
    clients::create(
        conn,
        master,
        realm,
        NewClient {
            client_id: client_id.into(),
            credentials: Credentials::Public,
            post_logout_redirect_uris: redirect_uris.clone(),
            redirect_uris,
            grant_types: grants.to_vec(),
            backchannel_logout_uri: None,
            consent_required: false,
            introspect_any: false,
            frontchannel_logout_uri: None,
        },
    )?;
    Ok(())
}

/// [`ensure_builtins`] for every realm.
pub fn ensure_builtins_everywhere(
    conn: &mut DbConnection,
    master: &MasterKey,
    public_base: &str,
) -> Result<(), Error> {
    for realm in store::realms::list(conn)? {
        ensure_builtins(conn, master, &realm, public_base)?;
    }
    Ok(())
}
