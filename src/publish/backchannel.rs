//! Delivering back-channel logout notices (OIDC Back-Channel Logout 1.0)
//! from the persisted outbox: claimed by one node at a time, POSTed as
//! `logout_token`, retried with exponential backoff and jitter, given up
//! (and audited) after the horizon. A restart loses nothing: the outbox is
//! in the database, and a claim lapses if its node dies.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::directory::{Client, Directory};
use crate::error::Error;
use crate::outbound::{Outbound, OutboundError};
use crate::store::audit::NewAudit;
use crate::store::outbox::Notice;
use crate::store::{self, Store};
use crate::time::now_ms;

/// How long a claim keeps other nodes off a notice.
const CLAIM_MS: i64 = 30_000;
const BATCH: i64 = 50;
const FIRST_RETRY_MS: f64 = 1_000.0;
const MAX_RETRY_MS: f64 = 600_000.0;
/// A relying party's answer is not read beyond this (§2.8 expects none).
const ANSWER_CAP: usize = 16 * 1024;

pub struct Deliverer {
    store: Store,
    directory: Arc<Directory>,
    outbound: Outbound,
    node: String,
    public_base: String,
    horizon_ms: i64,
}

enum Outcome {
    Delivered,
    Failed(String),
}

impl Outcome {
    /// §2.8: success is 200 (we accept any 2xx, as 204 is common).
    fn of_status(status: u16) -> Outcome {
        if (200..300).contains(&status) {
            Outcome::Delivered
        } else {
            Outcome::Failed(format!("HTTP {status}"))
        }
    }
}

impl Deliverer {
    pub fn new(
        store: Store,
        directory: Arc<Directory>,
        outbound: Outbound,
        public_base: String,
        horizon_s: u64,
    ) -> Deliverer {
        Deliverer {
            store,
            directory,
            outbound,
            node: crate::crypto::random_id(),
            public_base,
            horizon_ms: horizon_s as i64 * 1000,
        }
    }

    pub fn spawn(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let deliverer = self;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(e) = deliverer.round().await {
                    tracing::warn!(error = %e, "back-channel logout delivery round failed");
                }
            }
        })
    }

    /// Gives back this node's claims, so another node delivers at once.
    pub async fn release_claims(&self) -> Result<(), Error> {
        let node = self.node.clone();
        Ok(self
            .store
            .run(move |conn| store::outbox::release_claims(conn, &node))
            .await?)
    }

    async fn round(self: &Arc<Self>) -> Result<(), Error> {
        let node = self.node.clone();
        let now = now_ms();
        let claimed = self
            .store
            .run(move |conn| {
                store::write(conn, |conn| {
                    store::outbox::claim_due(conn, &node, now, now + CLAIM_MS, BATCH)
                })
            })
            .await?;
        let attempts = claimed.into_iter().map(|notice| {
            let me = Arc::clone(self);
            async move {
                let outcome = me.deliver(&notice).await;
                me.record(notice, outcome).await
            }
        });
        for result in futures_util::future::join_all(attempts).await {
            if let Err(e) = result {
                tracing::warn!(error = %e, "cannot record a delivery");
            }
        }
        Ok(())
    }

    async fn deliver(&self, notice: &Notice) -> Outcome {
        match self.logout_token(notice).await {
            Ok(Some((uri, token))) => match self
                .outbound
                .post_form(&uri, &[("logout_token", &token)], ANSWER_CAP)
                .await
            {
                Ok(answer) => Outcome::of_status(answer.status),
                // The status is the answer; a long body does not undo it.
                Err(OutboundError::TooLarge { status, .. }) => Outcome::of_status(status),
                Err(e) => Outcome::Failed(e.to_string()),
            },
            Ok(None) => {
                Outcome::Failed("the client no longer has a back-channel logout URI".into())
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }

    async fn logout_token(&self, notice: &Notice) -> Result<Option<(String, String)>, Error> {
        let (realm_id, client_row) = (notice.realm_id.clone(), notice.client_id.clone());
        let found = self
            .store
            .run(move |conn| -> Result<_, Error> {
                let realm = store::realms::find(conn, &realm_id)?;
                let client = store::clients::find(conn, &client_row)?;
                Ok(realm.zip(client))
            })
            .await?;
        let Some((realm, client_row)) = found else {
            return Ok(None);
        };
        let client = Client::from_row(client_row)?;
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            return Ok(None);
        };
        let state = self.directory.realm(&realm.name).await?;
        let issuer = format!("{}/realms/{}", self.public_base, realm.name);
        let token = crate::tokens::mint_logout(
            &state,
            &issuer,
            &client,
            &notice.user_id,
            &notice.session_id,
            now_ms(),
        )?;
        Ok(Some((uri, token)))
    }

    async fn record(&self, notice: Notice, outcome: Outcome) -> Result<(), Error> {
        let now = now_ms();
        let horizon = self.horizon_ms;
        self.store
            .run(move |conn| -> Result<(), Error> {
                match outcome {
                    Outcome::Delivered => store::outbox::mark_delivered(conn, notice.id, now)?,
                    Outcome::Failed(error) if now - notice.created_at_ms >= horizon => {
                        store::write(conn, |conn| -> Result<(), Error> {
                            store::outbox::give_up(conn, notice.id, &error, now)?;
                            store::audit::insert_many(
                                conn,
                                &[NewAudit {
                                    realm_id: notice.realm_id.clone(),
                                    at_ms: now,
                                    actor: "latch".into(),
                                    kind: "backchannel.gave_up".into(),
                                    subject: notice.session_id.clone(),
                                    ip: None,
                                    detail: serde_json::to_string(&serde_json::json!({
                                        "client": notice.client_id,
                                        "attempts": notice.attempts + 1,
                                        "last_error": error,
                                    }))
                                    .ok(),
                                }],
                            )?;
                            Ok(())
                        })?;
                        tracing::warn!(session = %notice.session_id, "gave up delivering a back-channel logout");
                    }
                    Outcome::Failed(error) => {
                        store::outbox::schedule_retry(conn, notice.id, &error, now + backoff_ms(notice.attempts))?
                    }
                }
                Ok(())
            })
            .await
    }
}

/// 1 s, 2 s, 4 s … capped at 10 minutes, each ±50 % so a fleet of
/// notices to one recovering client does not arrive in lockstep.
fn backoff_ms(attempts: i32) -> i64 {
    let base = (FIRST_RETRY_MS * 2f64.powi(attempts.clamp(0, 20))).min(MAX_RETRY_MS);
    let jitter = rand::rng().random_range(0.5..1.5);
    (base * jitter) as i64
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempts in 0..30 {
            let ms = super::backoff_ms(attempts) as f64;
            let base = (1000.0 * 2f64.powi(attempts.min(20))).min(600_000.0);
            assert!(ms >= base * 0.5 && ms <= base * 1.5, "{attempts}: {ms}");
        }
    }
}
