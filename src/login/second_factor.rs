//! Second factors at sign-in: whether one is asked, the check of a
//! one-time code against the user's `otp` credentials (each accepted time
//! step claimed in the database, so a code is never accepted twice on any
//! node), and the `acr` / `amr` a session's tokens carry.
//!
//! Levels (`acr`): "0" a session reused without authenticating, "1" a
//! password in this request, "2" a second factor verified in the session.

use crate::crypto::MasterKey;
use crate::directory::{Directory, RealmState};
use crate::error::Error;
use crate::login::totp::{self, OtpParams, Shape};
use crate::store::credentials::{
    self as rows, CredentialRow, OTP, RECOVERY_CODES as RECOVERY_CODES_TYPE,
};
use crate::store::realms::Realm;
use crate::store::DbConnection;

/// What the sealed secret of a credential is bound to.
pub const SECRET_PURPOSE: &str = "credential secret";

/// The realm's setting: a second factor is never asked, asked of users
/// who have one, or required of everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Off,
    Optional,
    Required,
}

impl Requirement {
    pub fn of(realm: &Realm) -> Requirement {
        match realm.second_factor.as_str() {
            "off" => Requirement::Off,
            "required" => Requirement::Required,
            _ => Requirement::Optional,
        }
    }

    pub fn parse(text: &str) -> Option<&'static str> {
        ["off", "optional", "required"]
            .into_iter()
            .find(|known| *known == text)
    }
}

/// The second factors a user has: `otp` credentials (recovery codes count
/// only beside one).
pub fn has_otp(conn: &mut DbConnection, user_id: &str) -> Result<bool, Error> {
    Ok(!rows::of_user_typed(conn, user_id, OTP)?.is_empty())
}

/// Whether a sign-in of this user is asked for a second factor after the
/// password (one enrolled and the realm not set to `off`).
pub async fn asked_of(
    directory: &Directory,
    realm: &RealmState,
    user_id: &str,
) -> Result<bool, Error> {
    if Requirement::of(&realm.realm) == Requirement::Off {
        return Ok(false);
    }
    let user_id = user_id.to_string();
    directory
        .store()
        .run(move |conn| has_otp(conn, &user_id))
        .await
}

/// Whether a password alone signs this user in (the password grant): the
/// inner `Err` says why not.
pub async fn password_alone(
    directory: &Directory,
    realm: &RealmState,
    user: &crate::store::users::User,
) -> Result<Result<(), &'static str>, Error> {
    let requirement = Requirement::of(&realm.realm);
    let user_id = user.id.clone();
    let has = directory
        .store()
        .run(move |conn| has_otp(conn, &user_id))
        .await?;
    let enrol = !has && (user.must_configure_totp() || requirement == Requirement::Required);
    Ok(if enrol {
        Err("Account is not fully set up: the user must set up an authenticator app in the browser")
    } else if has && requirement != Requirement::Off {
        Err("Invalid user credentials")
    } else {
        Ok(())
    })
}

/// What became of a presented code.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeVerdict {
    /// The code of this credential, now used up.
    Accepted {
        credential_id: String,
        /// A recovery code was spent (not an app's code).
        recovery: bool,
    },
    /// Not a code at all (letters, the wrong length): not counted.
    Malformed,
    /// Wrong, or already used: counted as a failure.
    Refused,
}

/// Opens a credential's sealed secret (bound to its id).
pub fn open_secret(master: &MasterKey, row: &CredentialRow) -> Result<Vec<u8>, Error> {
    Ok(master.open(SECRET_PURPOSE, row.id.as_bytes(), &row.secret_data)?)
}

/// Checks `presented` against each of the user's `otp` credentials. The
/// matching step is claimed in the same database: a second use of the code
/// (or of any code of that step) is refused; a database that cannot be
/// reached refuses too (the error).
pub fn verify_code(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm: &Realm,
    user_id: &str,
    presented: &str,
    now_ms: i64,
) -> Result<CodeVerdict, Error> {
    let credentials = rows::of_user_typed(conn, user_id, OTP)?;
    let mut shaped = false;
    for row in &credentials {
        let Ok(params) = serde_json::from_str::<OtpParams>(&row.credential_data) else {
            continue;
        };
        let Shape::Code(code) = totp::shape(presented, params.digits) else {
            continue;
        };
        shaped = true;
        let secret = open_secret(master, row)?;
        let look_ahead = realm.otp_policy_look_ahead.clamp(0, 10);
        let Some(step) = totp::matching_step(&secret, &params, &code, now_ms / 1000, look_ahead)
        else {
            continue;
        };
        if !rows::claim_step(conn, &row.id, step, now_ms)? {
            return Ok(CodeVerdict::Refused);
        }
        rows::touch(conn, &row.id, now_ms)?;
        return Ok(CodeVerdict::Accepted {
            credential_id: row.id.clone(),
            recovery: false,
        });
    }
    if let Some(code) = recovery_shape(presented).filter(|_| !shaped) {
        return spend_recovery_code(conn, master, user_id, &code, now_ms);
    }
    Ok(if shaped || credentials.is_empty() {
        CodeVerdict::Refused
    } else {
        CodeVerdict::Malformed
    })
}

/// The `acr` of tokens from a session at `level` (1 or 2), `fresh` when
/// the user authenticated in this request.
pub fn acr(level: i64, fresh: bool) -> &'static str {
    if level >= 2 {
        "2"
    } else if fresh {
        "1"
    } else {
        "0"
    }
}

/// The `amr` values (RFC 8176) of a session.
pub fn amr(methods: &str) -> Vec<String> {
    methods.split_whitespace().map(str::to_string).collect()
}

/// The methods of a sign-in that used a password and, at level 2, a code.
pub fn methods(level: i64) -> &'static str {
    if level >= 2 {
        "pwd otp mfa"
    } else {
        "pwd"
    }
}

/// The methods behind an `acr` a token carries.
pub fn methods_of_acr(acr: &str) -> &'static str {
    methods(if acr == "2" { 2 } else { 1 })
}

/// Credential types a user may hold beside the password.
pub fn is_second_factor(kind: &str) -> bool {
    kind == OTP || kind == RECOVERY_CODES_TYPE
}

/// A request for a level of authentication above a password: `acr_values`
/// naming "2", or `acr` in the `claims` parameter (OIDC Core §5.5.1.1)
/// with "2" as its value or among its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepUp {
    /// Asked as an essential claim: a user who cannot reach it is refused.
    pub essential: bool,
}

/// What an authorization request asks of the sign-in's level.
pub fn requested_level(acr_values: Option<&str>, claims: Option<&str>) -> Option<StepUp> {
    let mut wanted = acr_values
        .is_some_and(|v| v.split_whitespace().any(|a| a == "2"))
        .then_some(StepUp { essential: false });
    let parsed = claims.and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
    for target in ["id_token", "userinfo"] {
        let Some(acr) = parsed.as_ref().and_then(|c| c.get(target)?.get("acr")) else {
            continue;
        };
        let names_two = acr.get("value").and_then(|v| v.as_str()) == Some("2")
            || acr
                .get("values")
                .and_then(|v| v.as_array())
                .is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some("2")));
        if names_two {
            let essential = acr.get("essential").and_then(|e| e.as_bool()) == Some(true);
            let before = wanted.is_some_and(|w| w.essential);
            wanted = Some(StepUp {
                essential: essential || before,
            });
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_up_is_read_from_acr_values_and_the_claims_parameter() {
        assert_eq!(requested_level(None, None), None);
        assert_eq!(requested_level(Some("1 0"), None), None);
        assert_eq!(
            requested_level(Some("2 1"), None),
            Some(StepUp { essential: false })
        );
        let essential = r#"{"id_token":{"acr":{"essential":true,"values":["2"]}}}"#;
        assert_eq!(
            requested_level(None, Some(essential)),
            Some(StepUp { essential: true })
        );
        let one = r#"{"id_token":{"acr":{"essential":true,"value":"1"}}}"#;
        assert_eq!(requested_level(None, Some(one)), None);
        assert_eq!(requested_level(None, Some("not json")), None);
    }
}

/// How many recovery codes a user gets at once (Keycloak's number).
pub const RECOVERY_CODES: usize = 12;
const RECOVERY_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// What a recovery-codes credential keeps, sealed: the keyed hash of each
/// code and whether it was spent.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RecoverySecret {
    pub hashes: Vec<String>,
    pub used: Vec<bool>,
}

/// Twelve new codes, `XXXX-XXXX-XXXX` (60 random bits each), and what
/// the credential keeps of them.
pub fn new_recovery_codes(master: &MasterKey) -> (Vec<String>, RecoverySecret) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = crate::crypto::random_bytes::<12>();
            let chars: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b % 32)] as char)
                .collect();
            format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
        })
        .collect();
    let hashes = codes
        .iter()
        .filter_map(|c| recovery_shape(c))
        .map(|c| recovery_hash(master, &c))
        .collect();
    let secret = RecoverySecret {
        hashes,
        used: vec![false; RECOVERY_CODES],
    };
    (codes, secret)
}

/// A presented recovery code, normalised; `None` when it cannot be one.
fn recovery_shape(presented: &str) -> Option<String> {
    let code: String = presented
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    (code.len() == 12 && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

fn recovery_hash(master: &MasterKey, code: &str) -> String {
    hex::encode(crate::crypto::hmac_sha256(
        &master.derive("recovery code"),
        code.as_bytes(),
    ))
}

/// Spends a recovery code of the user: the credential's sealed list is
/// swapped only if nobody changed it since it was read, so a code is
/// spent once even when presented twice at the same moment.
fn spend_recovery_code(
    conn: &mut DbConnection,
    master: &MasterKey,
    user_id: &str,
    code: &str,
    now_ms: i64,
) -> Result<CodeVerdict, Error> {
    let hash = recovery_hash(master, code);
    for row in rows::of_user_typed(conn, user_id, RECOVERY_CODES_TYPE)? {
        let Ok(mut secret) = serde_json::from_slice::<RecoverySecret>(&open_secret(master, &row)?)
        else {
            continue;
        };
        let found = secret
            .hashes
            .iter()
            .position(|h| crate::crypto::constant_time_eq(h.as_bytes(), hash.as_bytes()));
        let Some(index) = found.filter(|i| !secret.used.get(*i).copied().unwrap_or(true)) else {
            continue;
        };
        secret.used[index] = true;
        let json = serde_json::to_vec(&secret).unwrap_or_default();
        let sealed = master.seal(SECRET_PURPOSE, row.id.as_bytes(), &json);
        if !rows::swap_secret(conn, &row.id, &row.secret_data, &sealed)? {
            return Ok(CodeVerdict::Refused);
        }
        rows::touch(conn, &row.id, now_ms)?;
        return Ok(CodeVerdict::Accepted {
            credential_id: row.id,
            recovery: true,
        });
    }
    Ok(CodeVerdict::Refused)
}
