//! Each realm's key ring: a key that signs for every algorithm in use, no
//! key verifying past its retirement, staged keys named with their time.

use std::collections::BTreeMap;

use super::Check;
use crate::keys::Alg;
use crate::store::keys::KeyRow;
use crate::store::{self, Store};
use crate::time::{format_utc, now_ms};

/// One check per realm, in name order.
pub(super) fn checks(store: &Store) -> Vec<Check> {
    let read = store.conn().and_then(|mut conn| {
        store::realms::list(&mut conn)?
            .into_iter()
            .map(|realm| {
                let keys = store::keys::live_for_realm(&mut conn, &realm.id)?;
                let clients = store::clients::id_token_algs(&mut conn, &realm.id)?;
                Ok((realm.name, keys, clients))
            })
            .collect::<Result<Vec<_>, store::StoreError>>()
    });
    match read {
        Ok(realms) => realms
            .iter()
            .map(|(name, keys, clients)| realm_ring(name, keys, clients, now_ms()))
            .collect(),
        Err(e) => vec![Check::fail("keys", e.to_string())],
    }
}

/// What every realm signs with: access tokens and status lists need ES256;
/// ID tokens RS256, the default, and the fallback for a client whose own
/// algorithm has no key.
const REQUIRED: [(Alg, &str); 2] = [(Alg::ES256, "access tokens"), (Alg::RS256, "ID tokens")];

/// The verdict on one realm's live keys (`clients`: each client's ID token
/// algorithm) at `now` (ms).
pub(super) fn realm_ring(
    realm: &str,
    keys: &[KeyRow],
    clients: &[(String, String)],
    now: i64,
) -> Check {
    let subject = format!("keys {realm}");
    let signing = |alg: Alg| {
        keys.iter()
            .rev()
            .find(|k| k.status == "active" && k.alg == alg.as_str())
    };
    let mut fails = Vec::new();
    for (alg, what) in REQUIRED {
        if signing(alg).is_none() {
            fails.push(format!(
                "no active {alg} key, so no {what} can be signed (run `latch keys rotate --realm {realm} --alg {alg}`)"
            ));
        }
    }
    let mut warns = clients_without_key(clients, &signing);
    for key in keys {
        if let Some(problem) = overdue(key, now) {
            warns.push(problem);
        }
    }
    let staged: Vec<String> = keys
        .iter()
        .filter(|k| k.status == "next")
        .map(|k| {
            let at = k.activate_after_ms.map(format_utc).unwrap_or_default();
            format!("{} {} from {at}", k.alg, k.kid)
        })
        .collect();
    let signers: Vec<String> = Alg::ALL
        .into_iter()
        .filter_map(|alg| signing(alg).map(|k| format!("{alg} {}", k.kid)))
        .collect();
    let summary = format!(
        "signing: {}; staged: {}",
        if signers.is_empty() {
            "none".into()
        } else {
            signers.join(", ")
        },
        if staged.is_empty() {
            "none".into()
        } else {
            staged.join(", ")
        }
    );
    match (fails.is_empty(), warns.is_empty()) {
        (false, _) => Check::fail(subject, [fails, warns].concat().join("; ")),
        (true, false) => Check::warn(subject, format!("{}; {summary}", warns.join("; "))),
        (true, true) => Check::ok(subject, summary),
    }
}

/// Clients asking for ID tokens in an algorithm nobody signs: they get
/// RS256 instead, which a client pinned to its own algorithm refuses.
fn clients_without_key<'a>(
    clients: &[(String, String)],
    signing: &impl Fn(Alg) -> Option<&'a KeyRow>,
) -> Vec<String> {
    let mut unserved: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (client, alg) in clients {
        let served = alg.parse::<Alg>().ok().and_then(signing).is_some();
        if !served {
            unserved.entry(alg).or_default().push(client);
        }
    }
    unserved
        .into_iter()
        .map(|(alg, clients)| {
            format!(
                "client(s) {} ask for {alg} ID tokens but no {alg} key is active",
                clients.join(", ")
            )
        })
        .collect()
}

/// A key past its moment: one that still verifies after its retirement, or
/// a staged key that should already sign. Both mean key maintenance (part
/// of `latch serve`) has not run since.
fn overdue(key: &KeyRow, now: i64) -> Option<String> {
    match key.status.as_str() {
        "active" | "retiring" => key.retire_after_ms.filter(|at| *at <= now).map(|at| {
            format!(
                "{} key {} still verifies, past its retirement at {}",
                key.alg,
                key.kid,
                format_utc(at)
            )
        }),
        "next" => key.activate_after_ms.filter(|at| *at <= now).map(|at| {
            format!(
                "staged {} key {} was due to sign at {} and does not yet",
                key.alg,
                key.kid,
                format_utc(at)
            )
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    const NOW: i64 = 1_800_000_000_000;

    fn key(kid: &str, alg: &str, status: &str) -> KeyRow {
        KeyRow {
            kid: kid.into(),
            realm_id: "r".into(),
            alg: alg.into(),
            status: status.into(),
            public_jwk: String::new(),
            private_key: Vec::new(),
            created_at_ms: NOW - 10_000,
            activated_at_ms: None,
            retire_after_ms: None,
            retired_at_ms: None,
            activate_after_ms: None,
        }
    }

    fn client(id: &str, alg: &str) -> (String, String) {
        (id.into(), alg.into())
    }

    #[test]
    fn a_ring_signing_both_default_algorithms_is_healthy() {
        let keys = [key("e1", "ES256", "active"), key("r1", "RS256", "active")];
        let check = realm_ring("demo", &keys, &[client("app", "RS256")], NOW);
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert_eq!(check.subject, "keys demo");
        assert!(check.detail.contains("ES256 e1") && check.detail.contains("RS256 r1"));
    }

    #[test]
    fn a_missing_signing_algorithm_fails_and_says_how_to_fix_it() {
        let keys = [key("e1", "ES256", "active"), key("r1", "RS256", "retiring")];
        let check = realm_ring("demo", &keys, &[], NOW);
        assert_eq!(check.status, Status::Fail, "{check:?}");
        assert!(check.detail.contains("no active RS256 key"), "{check:?}");
        assert!(check
            .detail
            .contains("latch keys rotate --realm demo --alg RS256"));
    }

    #[test]
    fn a_client_whose_algorithm_has_no_key_is_named() {
        let keys = [key("e1", "ES256", "active"), key("r1", "RS256", "active")];
        let clients = [client("app", "RS256"), client("edge", "EdDSA")];
        let check = realm_ring("demo", &keys, &clients, NOW);
        assert_eq!(check.status, Status::Warn, "{check:?}");
        assert!(check.detail.contains("edge ask for EdDSA"), "{check:?}");
    }

    #[test]
    fn keys_past_their_moment_warn_and_staged_keys_are_named() {
        let mut retiring = key("old", "ES256", "retiring");
        retiring.retire_after_ms = Some(NOW - 1);
        let mut staged = key("new", "RS256", "next");
        staged.activate_after_ms = Some(NOW + 60_000);
        let keys = [
            retiring,
            key("e1", "ES256", "active"),
            key("r1", "RS256", "active"),
            staged.clone(),
        ];
        let check = realm_ring("demo", &keys, &[], NOW);
        assert_eq!(check.status, Status::Warn, "{check:?}");
        assert!(check.detail.contains("key old still verifies"), "{check:?}");
        assert!(check.detail.contains("staged: RS256 new from"), "{check:?}");

        staged.activate_after_ms = Some(NOW - 1);
        let keys = [
            key("e1", "ES256", "active"),
            key("r1", "RS256", "active"),
            staged,
        ];
        let check = realm_ring("demo", &keys, &[], NOW);
        assert_eq!(check.status, Status::Warn, "{check:?}");
        assert!(check.detail.contains("was due to sign"), "{check:?}");
    }
}
