//! Diesel table definitions, shared by both backends (the migrations under
//! `migrations/sqlite` and `migrations/postgres` create the same columns).

diesel::table! {
    server_meta (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    realms (id) {
        id -> Text,
        name -> Text,
        enabled -> Bool,
        access_token_lifetime_s -> BigInt,
        id_token_lifetime_s -> BigInt,
        refresh_token_lifetime_s -> BigInt,
        offline_token_lifetime_s -> BigInt,
        session_lifetime_s -> BigInt,
        refresh_grace_ms -> BigInt,
        key_rotation_interval_s -> BigInt,
        not_before_ms -> BigInt,
        created_at_ms -> BigInt,
        key_stage_s -> BigInt,
        password_policy -> Text,
        sso_idle_s -> BigInt,
        remember_me -> Bool,
        remember_me_lifetime_s -> BigInt,
        offline_idle_s -> BigInt,
        scopes_seeded -> Bool,
        otp_policy_algorithm -> Text,
        otp_policy_digits -> BigInt,
        otp_policy_period -> BigInt,
        otp_policy_look_ahead -> BigInt,
        second_factor -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        realm_id -> Text,
        username -> Text,
        email -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        enabled -> Bool,
        password_hash -> Nullable<Text>,
        not_before_ms -> BigInt,
        created_at_ms -> BigInt,
        required_actions -> Text,
        failed_logins -> Integer,
        lockouts -> Integer,
        locked_until_ms -> BigInt,
        last_failure_ms -> BigInt,
        last_failure_ip -> Nullable<Text>,
        email_verified -> Bool,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        realm_id -> Text,
        client_id -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        consent_required -> Bool,
        default_audience -> Nullable<Text>,
        id_token_alg -> Text,
        enabled -> Bool,
        not_before_ms -> BigInt,
        created_at_ms -> BigInt,
        introspect_any -> Bool,
        backchannel_logout_session_required -> Bool,
        frontchannel_logout_uri -> Nullable<Text>,
        previous_secret_hash -> Nullable<Text>,
        previous_secret_until_ms -> BigInt,
        rate_limit_per_s -> Nullable<Integer>,
        web_origins -> Text,
        default_scopes -> Text,
        optional_scopes -> Text,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        realm_id -> Text,
        alg -> Text,
        status -> Text,
        public_jwk -> Text,
        private_key -> Binary,
        created_at_ms -> BigInt,
        activated_at_ms -> Nullable<BigInt>,
        retire_after_ms -> Nullable<BigInt>,
        retired_at_ms -> Nullable<BigInt>,
        activate_after_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    revocation_events (seq) {
        seq -> BigInt,
        realm_id -> Text,
        kind -> Text,
        subject -> Text,
                not_before_ms -> Nullable<BigInt>,
        expires_at_ms -> Nullable<BigInt>,
        created_at_ms -> BigInt,
        client_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        reason -> Nullable<Text>,
    }
}

diesel::joinable!(users -> realms (realm_id));
diesel::joinable!(clients -> realms (realm_id));
diesel::joinable!(signing_keys -> realms (realm_id));

diesel::table! {
    sessions (id) {
        id -> Text,
        realm_id -> Text,
        user_id -> Text,
        cookie_hash -> Text,
        auth_time_s -> BigInt,
        created_at_ms -> BigInt,
        last_seen_ms -> BigInt,
        expires_at_ms -> BigInt,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        ended_at_ms -> Nullable<BigInt>,
        end_reason -> Nullable<Text>,
        remember_me -> Bool,
        idle_until_ms -> BigInt,
        acr_level -> BigInt,
        amr -> Text,
    }
}

diesel::table! {
    session_clients (session_id, client_id) {
        session_id -> Text,
        client_id -> Text,
        first_at_ms -> BigInt,
    }
}

diesel::table! {
    auth_codes (code_hash) {
        code_hash -> Text,
        realm_id -> Text,
        client_id -> Text,
        user_id -> Text,
        session_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        auth_time_s -> BigInt,
        created_at_ms -> BigInt,
        expires_at_ms -> BigInt,
        used_at_ms -> Nullable<BigInt>,
        family_id -> Nullable<Text>,
        access_jti -> Nullable<Text>,
        acr -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_families (id) {
        id -> Text,
        realm_id -> Text,
        client_id -> Text,
        user_id -> Text,
        session_id -> Text,
        offline -> Bool,
        scope -> Text,
        auth_time_s -> BigInt,
        created_at_ms -> BigInt,
        last_used_ms -> BigInt,
        expires_at_ms -> BigInt,
        revoked_at_ms -> Nullable<BigInt>,
        revoke_reason -> Nullable<Text>,
        acr -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        created_at_ms -> BigInt,
        expires_at_ms -> BigInt,
        rotated_at_ms -> Nullable<BigInt>,
        replay_response -> Nullable<Binary>,
        access_jti -> Nullable<Text>,
        access_exp_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        realm_id -> Text,
        at_ms -> BigInt,
        actor -> Text,
        kind -> Text,
        subject -> Text,
        ip -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at_ms -> BigInt,
    }
}

diesel::joinable!(refresh_tokens -> refresh_families (family_id));

diesel::table! {
    backchannel_outbox (id) {
        id -> BigInt,
        realm_id -> Text,
        client_id -> Text,
        session_id -> Text,
        user_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_ms -> BigInt,
        claimed_by -> Nullable<Text>,
        claimed_until_ms -> BigInt,
        last_error -> Nullable<Text>,
        created_at_ms -> BigInt,
        delivered_at_ms -> Nullable<BigInt>,
        gave_up_at_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    status_list_blocks (id) {
        id -> BigInt,
        realm_id -> Text,
        list_no -> BigInt,
        start_idx -> BigInt,
        size -> BigInt,
        node -> Text,
        heartbeat_ms -> BigInt,
        state -> Text,
    }
}

diesel::table! {
    status_list_slots (seq) {
        seq -> BigInt,
        realm_id -> Text,
        list_no -> BigInt,
        idx -> BigInt,
        jti -> Text,
        sid -> Nullable<Text>,
        user_id -> Text,
        client_id -> Text,
        node -> Text,
        iat_ms -> BigInt,
        exp_ms -> BigInt,
    }
}

diesel::joinable!(session_clients -> clients (client_id));

diesel::table! {
    roles (id) {
        id -> Text,
        realm_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at_ms -> BigInt,
    }
}

diesel::table! {
    user_roles (user_id, role_id) {
        user_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    password_history (user_id, replaced_at_ms) {
        user_id -> Text,
        password_hash -> Text,
        replaced_at_ms -> BigInt,
    }
}

diesel::table! {
    client_roles (id) {
        id -> Text,
        client_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at_ms -> BigInt,
    }
}

diesel::table! {
    user_client_roles (user_id, role_id) {
        user_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    role_composites (parent_id, child_id) {
        parent_id -> Text,
        child_id -> Text,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        realm_id -> Text,
        parent_id -> Nullable<Text>,
        name -> Text,
        created_at_ms -> BigInt,
    }
}

diesel::table! {
    group_roles (group_id, role_id) {
        group_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    user_groups (user_id, group_id) {
        user_id -> Text,
        group_id -> Text,
    }
}

diesel::joinable!(client_roles -> clients (client_id));
diesel::joinable!(user_client_roles -> client_roles (role_id));
diesel::joinable!(user_groups -> groups (group_id));
diesel::joinable!(user_roles -> roles (role_id));
diesel::joinable!(user_roles -> users (user_id));

diesel::table! {
    client_scopes (id) {
        id -> Text,
        realm_id -> Text,
        name -> Text,
        description -> Text,
        include_in_token_scope -> Bool,
        consent_text -> Nullable<Text>,
        realm_default -> Nullable<Text>,
        created_at_ms -> BigInt,
    }
}

diesel::table! {
    protocol_mappers (id) {
        id -> Text,
        scope_id -> Text,
        name -> Text,
        mapper -> Text,
        config -> Text,
        created_at_ms -> BigInt,
    }
}

diesel::table! {
    user_attributes (user_id, name, position) {
        user_id -> Text,
        name -> Text,
        position -> Integer,
        value -> Text,
    }
}

diesel::joinable!(protocol_mappers -> client_scopes (scope_id));

diesel::table! {
    credentials (id) {
        id -> Text,
        realm_id -> Text,
        user_id -> Text,
        #[sql_name = "type"]
        kind -> Text,
        user_label -> Nullable<Text>,
        created_ms -> BigInt,
        last_used_ms -> Nullable<BigInt>,
        secret_data -> Binary,
        credential_data -> Text,
    }
}

diesel::table! {
    otp_used_steps (credential_id, step) {
        credential_id -> Text,
        step -> BigInt,
        used_at_ms -> BigInt,
    }
}

diesel::table! {
    session_credentials (session_id, credential_id) {
        session_id -> Text,
        credential_id -> Text,
        used_at_ms -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    server_meta,
    realms,
    users,
    clients,
    signing_keys,
    revocation_events,
    sessions,
    session_clients,
    auth_codes,
    refresh_families,
    refresh_tokens,
    consents,
    audit_events,
    backchannel_outbox,
    status_list_blocks,
    status_list_slots,
    roles,
    user_roles,
    password_history,
    client_roles,
    user_client_roles,
    role_composites,
    groups,
    group_roles,
    user_groups,
    client_scopes,
    protocol_mappers,
    user_attributes,
    credentials,
    otp_used_steps,
    session_credentials,
);
