//! What revocation reaches outward: the Token Status List every API can
//! cache, and back-channel logout notices delivered to relying parties
//! from the persisted outbox. Built on the revocation core (its index, its
//! follower); the core knows nothing of them.

pub mod backchannel;
pub mod status_list;
