//! Users: create, change, enable and disable, delete, log out everywhere,
//! find and count — for the admin API, the console and the CLI alike.

use crate::error::Error;
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

pub use crate::store::users::User;

/// How a front door names a user: the admin API and the console by id, the
/// command line by username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(crate::ids::UserId),
    Username(String),
}

/// The user of `realm` named by `who` (not found for a user of another realm).
pub fn find(conn: &mut DbConnection, realm: &Realm, who: &UserRef) -> Result<User, Error> {
    let (found, name) = match who {
        UserRef::Id(id) => {
            let user = store::users::find(conn, id.as_str())?;
            (user.filter(|u| u.realm_id == realm.id), id.to_string())
        }
        UserRef::Username(name) => {
            let name = crate::directory::users::normalize_username(name)?;
            (
                store::users::find_by_username(conn, &realm.id, &name)?,
                name,
            )
        }
    };
    found.ok_or_else(|| Error::NotFound(format!("user `{name}` in realm `{}`", realm.name)))
}
