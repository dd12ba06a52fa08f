//! The `status_list_blocks` and `status_list_slots` tables.

use diesel::prelude::*;

use super::schema::{status_list_blocks, status_list_slots};
use super::{DbConnection, StoreError};

/// Indices per list; a full list is followed by the next number.
pub const LIST_SIZE: i64 = 1 << 20;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_list_blocks)]
pub struct Block {
    pub id: i64,
    pub realm_id: String,
    pub list_no: i64,
    pub start_idx: i64,
    pub size: i64,
    pub node: String,
    pub heartbeat_ms: i64,
    pub state: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = status_list_slots)]
pub struct Slot {
    #[diesel(skip_insertion)]
    pub seq: i64,
    pub realm_id: String,
    pub list_no: i64,
    pub idx: i64,
    pub jti: String,
    pub sid: Option<String>,
    pub user_id: String,
    pub client_id: String,
    /// The node that issued the token (it need not read its own back).
    pub node: String,
    pub iat_ms: i64,
    pub exp_ms: i64,
}

/// Reserves the next `size` indices of the realm (call inside a write
/// transaction, under the realm lock).
pub fn reserve(
    conn: &mut DbConnection,
    realm_id: &str,
    node: &str,
    size: i64,
    now_ms: i64,
) -> Result<Block, StoreError> {
    let last: Option<(i64, i64, i64)> = status_list_blocks::table
        .filter(status_list_blocks::realm_id.eq(realm_id))
        .order((
            status_list_blocks::list_no.desc(),
            status_list_blocks::start_idx.desc(),
        ))
        .select((
            status_list_blocks::list_no,
            status_list_blocks::start_idx,
            status_list_blocks::size,
        ))
        .first(conn)
        .optional()?;
    let (list_no, start_idx) = match last {
        Some((list, start, len)) if start + len + size <= LIST_SIZE => (list, start + len),
        Some((list, _, _)) => (list + 1, 0),
        None => (0, 0),
    };
    diesel::insert_into(status_list_blocks::table)
        .values((
            status_list_blocks::realm_id.eq(realm_id),
            status_list_blocks::list_no.eq(list_no),
            status_list_blocks::start_idx.eq(start_idx),
            status_list_blocks::size.eq(size),
            status_list_blocks::node.eq(node),
            status_list_blocks::heartbeat_ms.eq(now_ms),
            status_list_blocks::state.eq("open"),
        ))
        .execute(conn)?;
    Ok(status_list_blocks::table
        .filter(status_list_blocks::realm_id.eq(realm_id))
        .filter(status_list_blocks::list_no.eq(list_no))
        .filter(status_list_blocks::start_idx.eq(start_idx))
        .select(Block::as_select())
        .first(conn)?)
}

/// Serialises slot writes on PostgreSQL until commit, so sequence numbers
/// become visible in order and a reader that has seen seq N never later
/// finds a smaller one committed behind it. (SQLite has one writer.)
const SLOTS_LOCK_ID: i64 = 0x4c41_5443_4803;

/// Writes the slots not already recorded: the issuing node and a node that
/// learnt a token's slot from the token itself may both write one.
pub fn insert_slots(conn: &mut DbConnection, slots: &[Slot]) -> Result<(), StoreError> {
    if slots.is_empty() {
        return Ok(());
    }
    if let DbConnection::Pg(c) = conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute(&format!("SELECT pg_advisory_xact_lock({SLOTS_LOCK_ID})"))?;
    }
    let mut groups: std::collections::BTreeMap<(&str, i64), Vec<i64>> = Default::default();
    for slot in slots {
        groups
            .entry((slot.realm_id.as_str(), slot.list_no))
            .or_default()
            .push(slot.idx);
    }
    let mut taken = std::collections::HashSet::new();
    for ((realm_id, list_no), idxs) in groups {
        for chunk in idxs.chunks(500) {
            let found: Vec<i64> = status_list_slots::table
                .filter(status_list_slots::realm_id.eq(realm_id))
                .filter(status_list_slots::list_no.eq(list_no))
                .filter(status_list_slots::idx.eq_any(chunk))
                .select(status_list_slots::idx)
                .load(conn)?;
            taken.extend(found.into_iter().map(|idx| (realm_id, list_no, idx)));
        }
    }
    for slot in slots {
        if taken.insert((slot.realm_id.as_str(), slot.list_no, slot.idx)) {
            diesel::insert_into(status_list_slots::table)
                .values(slot)
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Slots after `seq` whose tokens are not yet expired, except `skip_node`'s.
pub fn slots_after(
    conn: &mut DbConnection,
    seq: i64,
    live_after_ms: i64,
    skip_node: &str,
    limit: i64,
) -> Result<Vec<Slot>, StoreError> {
    Ok(status_list_slots::table
        .filter(status_list_slots::seq.gt(seq))
        .filter(status_list_slots::node.ne(skip_node))
        .filter(status_list_slots::exp_ms.gt(live_after_ms))
        .order(status_list_slots::seq.asc())
        .limit(limit)
        .select(Slot::as_select())
        .load(conn)?)
}

pub fn max_slot_seq(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(status_list_slots::table
        .select(diesel::dsl::max(status_list_slots::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

pub fn heartbeat(conn: &mut DbConnection, node: &str, now_ms: i64) -> Result<(), StoreError> {
    diesel::update(
        status_list_blocks::table
            .filter(status_list_blocks::node.eq(node))
            .filter(status_list_blocks::state.eq("open")),
    )
    .set(status_list_blocks::heartbeat_ms.eq(now_ms))
    .execute(conn)?;
    Ok(())
}

/// Open blocks whose node has gone silent since `before_ms` become
/// orphans; returns them (their unrecorded indices must read as revoked).
pub fn orphan_silent(conn: &mut DbConnection, before_ms: i64) -> Result<Vec<Block>, StoreError> {
    let silent = status_list_blocks::table
        .filter(status_list_blocks::state.eq("open"))
        .filter(status_list_blocks::heartbeat_ms.lt(before_ms));
    let blocks: Vec<Block> = silent.select(Block::as_select()).load(conn)?;
    diesel::update(silent)
        .set(status_list_blocks::state.eq("orphaned"))
        .execute(conn)?;
    Ok(blocks)
}

/// Orphaned blocks whose node was last heard of after `since_ms` (older
/// ones can hold no live token).
pub fn orphaned(conn: &mut DbConnection, since_ms: i64) -> Result<Vec<Block>, StoreError> {
    Ok(status_list_blocks::table
        .filter(status_list_blocks::state.eq("orphaned"))
        .filter(status_list_blocks::heartbeat_ms.gt(since_ms))
        .select(Block::as_select())
        .load(conn)?)
}

/// A node that stops: its open blocks are closed, not orphaned (every
/// index it handed out is recorded; the rest will never be handed out).
pub fn close_blocks(conn: &mut DbConnection, node: &str) -> Result<(), StoreError> {
    diesel::update(
        status_list_blocks::table
            .filter(status_list_blocks::node.eq(node))
            .filter(status_list_blocks::state.eq("open")),
    )
    .set(status_list_blocks::state.eq("closed"))
    .execute(conn)?;
    Ok(())
}

/// Indices of the block that have a recorded slot.
pub fn recorded_in(conn: &mut DbConnection, block: &Block) -> Result<Vec<i64>, StoreError> {
    Ok(status_list_slots::table
        .filter(status_list_slots::realm_id.eq(&block.realm_id))
        .filter(status_list_slots::list_no.eq(block.list_no))
        .filter(status_list_slots::idx.ge(block.start_idx))
        .filter(status_list_slots::idx.lt(block.start_idx + block.size))
        .select(status_list_slots::idx)
        .load(conn)?)
}

/// The highest index reserved in a list (its length).
pub fn list_len(conn: &mut DbConnection, realm_id: &str, list_no: i64) -> Result<i64, StoreError> {
    let end: Option<i64> = status_list_blocks::table
        .filter(status_list_blocks::realm_id.eq(realm_id))
        .filter(status_list_blocks::list_no.eq(list_no))
        .select(diesel::dsl::max(
            status_list_blocks::start_idx + status_list_blocks::size,
        ))
        .first(conn)?;
    Ok(end.unwrap_or(0))
}

/// The slots of a realm's access tokens that have not expired.
pub fn unexpired_in_realm(
    conn: &mut DbConnection,
    realm_id: &str,
    now_ms: i64,
) -> Result<Vec<Slot>, StoreError> {
    Ok(status_list_slots::table
        .filter(status_list_slots::realm_id.eq(realm_id))
        .filter(status_list_slots::exp_ms.gt(now_ms))
        .select(Slot::as_select())
        .load(conn)?)
}
