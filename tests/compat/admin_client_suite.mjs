// Keycloak's own admin client (@keycloak/keycloak-admin-client), with its
// default options, driven against a Latch server: every call it makes is
// checked, and what the client set (a role mapping, a verified email, a
// mapper) must show in a token the realm issues afterwards.
//
//   LATCH_URL=http://127.0.0.1:8080 LATCH_ADMIN_PASSWORD=… node admin_client_suite.mjs
//
// Prints one line per call; exits 1 naming the call that failed.

import KcAdminClient from "@keycloak/keycloak-admin-client";

const baseUrl = process.env.LATCH_URL;
const adminPassword = process.env.LATCH_ADMIN_PASSWORD;
if (!baseUrl || !adminPassword) {
  console.error("set LATCH_URL and LATCH_ADMIN_PASSWORD");
  process.exit(2);
}

const REALM = "compat";
let adminCalls = 0;
let protocolCalls = 0;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function show(value) {
  return JSON.stringify(value);
}

/** One admin client call: run it, check its result, print a line. */
async function call(name, run, verify = () => {}) {
  const started = Date.now();
  let result;
  try {
    result = await run();
    adminCalls += 1;
    verify(result);
  } catch (error) {
    const status = error.response ? ` (HTTP ${error.response.status})` : "";
    const body = error.responseData ? ` ${show(error.responseData)}` : "";
    console.error(`FAIL ${name}${status}: ${error.message}${body}`);
    if (result !== undefined) console.error(`     got ${show(result)}`);
    process.exit(1);
  }
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
  return result;
}

/** A call Latch answers on purpose differently from Keycloak: it must fail with `status`. */
async function refused(name, status, run) {
  try {
    await run();
  } catch (error) {
    adminCalls += 1;
    if (error.response?.status === status) {
      console.log(`ok   ${name} (refused with ${status}, as documented)`);
      return;
    }
    console.error(`FAIL ${name}: expected HTTP ${status}, got ${error.response?.status}: ${error.message}`);
    process.exit(1);
  }
  console.error(`FAIL ${name}: expected HTTP ${status}, the call succeeded`);
  process.exit(1);
}

/** A protocol request the suite makes itself (the token endpoint, userinfo). */
async function protocol(name, run) {
  try {
    const result = await run();
    protocolCalls += 1;
    console.log(`ok   ${name}`);
    return result;
  } catch (error) {
    console.error(`FAIL ${name}: ${error.message}`);
    process.exit(1);
  }
}

function claimsOf(jwt) {
  const payload = jwt.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
}

const names = (roles) => roles.map((r) => r.name).sort();

const kc = new KcAdminClient({ baseUrl, realmName: "master" });

// ---- authentication and realms --------------------------------------------

await call("auth (password grant through admin-cli)", () =>
  kc.auth({ username: "admin", password: adminPassword, grantType: "password", clientId: "admin-cli" }),
  () => check(typeof kc.accessToken === "string" && kc.accessToken.split(".").length === 3, "no access token"),
);

await call("serverInfo.find", () => kc.serverInfo.find(), (info) => {
  check(typeof info.systemInfo?.version === "string", "systemInfo.version");
  check(typeof info.profileInfo?.name === "string", "profileInfo.name");
  const types = (info.protocolMapperTypes?.["openid-connect"] ?? []).map((t) => t.id);
  check(types.includes("oidc-hardcoded-claim-mapper") && types.includes("oidc-usermodel-realm-role-mapper"), `protocolMapperTypes ${show(types)}`);
  check(info.providers?.["login-protocol"]?.providers?.["openid-connect"], "providers.login-protocol");
});

await call("realms.create", () => kc.realms.create({ realm: REALM, enabled: true }),
  (r) => check(r.realmName === REALM, `realmName ${show(r)}`));
await call("realms.find", () => kc.realms.find(),
  (realms) => check(realms.some((r) => r.realm === REALM) && realms.some((r) => r.realm === "master"), "compat and master listed"));
await call("realms.findOne", () => kc.realms.findOne({ realm: REALM }),
  (r) => check(r.realm === REALM && r.enabled === true, show(r)));
await call("realms.update", () => kc.realms.update({ realm: REALM }, { accessTokenLifespan: 600 }));
await call("realms.findOne (after update)", () => kc.realms.findOne({ realm: REALM }),
  (r) => check(r.accessTokenLifespan === 600, `accessTokenLifespan ${r.accessTokenLifespan}`));
await call("realms.findOne (unknown realm is null)", () => kc.realms.findOne({ realm: "no-such-realm" }),
  (r) => check(r === null, show(r)));

kc.setConfig({ realmName: REALM });

// ---- users -------------------------------------------------------------------

const carolPassword = "compat-Carol-password-1";
const carol = await call("users.create (credentials, emailVerified)", () => kc.users.create({
  username: "carol", email: "carol@example.com", emailVerified: true, enabled: true,
  firstName: "Carol", lastName: "Compat",
  credentials: [{ type: "password", value: "compat-first-password-1", temporary: false }],
}), (r) => check(typeof r.id === "string" && r.id.length > 0, show(r)));
const dave = await call("users.create (a second user)", () => kc.users.create({ username: "dave", enabled: true }),
  (r) => check(typeof r.id === "string", show(r)));

await call("users.find (username, exact)", () => kc.users.find({ username: "carol", exact: true }), (users) => {
  check(users.length === 1 && users[0].id === carol.id, show(users));
  check(users[0].emailVerified === true, `emailVerified ${users[0].emailVerified}`);
});
await call("users.find (search)", () => kc.users.find({ search: "compat" }),
  (users) => check(users.length === 1 && users[0].username === "carol", show(users)));
await call("users.count", () => kc.users.count(), (n) => check(n === 2, `count ${show(n)}`));
await call("users.findOne", () => kc.users.findOne({ id: carol.id }), (u) => {
  check(u.username === "carol" && u.email === "carol@example.com", show(u));
  check(u.emailVerified === true && u.firstName === "Carol", show(u));
});
await call("users.update (a new email clears emailVerified)", () =>
  kc.users.update({ id: carol.id }, { email: "carol@compat.example" }));
await call("users.findOne (unverified)", () => kc.users.findOne({ id: carol.id }),
  (u) => check(u.email === "carol@compat.example" && u.emailVerified === false, show(u)));
await call("users.update (emailVerified: true)", () =>
  kc.users.update({ id: carol.id }, { emailVerified: true, firstName: "Caroline" }));
await call("users.findOne (verified)", () => kc.users.findOne({ id: carol.id }),
  (u) => check(u.emailVerified === true && u.firstName === "Caroline", show(u)));
await call("users.resetPassword", () => kc.users.resetPassword({
  id: carol.id, credential: { type: "password", value: carolPassword, temporary: false },
}));

// ---- clients ------------------------------------------------------------------

const app = await call("clients.create (clientId only)", () => kc.clients.create({ clientId: "compat-app" }),
  (r) => check(typeof r.id === "string", show(r)));
await call("clients.find (clientId)", () => kc.clients.find({ clientId: "compat-app" }), (list) => {
  check(list.length === 1 && list[0].id === app.id, show(list));
  check(list[0].publicClient === false, "confidential by default");
});
await call("clients.update (name, description, direct access grants)", () => kc.clients.update({ id: app.id }, {
  clientId: "compat-app", name: "Compat App", description: "Driven by Keycloak's admin client",
  directAccessGrantsEnabled: true,
}));
await call("clients.findOne", () => kc.clients.findOne({ id: app.id }), (c) => {
  check(c.name === "Compat App" && c.description === "Driven by Keycloak's admin client", show(c));
  check(c.directAccessGrantsEnabled === true, show(c));
});
await call("clients.getClientSecret (stored hashed: no value)", () => kc.clients.getClientSecret({ id: app.id }),
  (s) => check(s.type === "secret" && s.value === undefined, show(s)));
const secret = await call("clients.generateNewClientSecret", () => kc.clients.generateNewClientSecret({ id: app.id }),
  (s) => check(s.type === "secret" && typeof s.value === "string" && s.value.length >= 32, show(s)));

await call("clients.createRole", () => kc.clients.createRole({ id: app.id, name: "reader", description: "Reads" }),
  (r) => check(r.roleName === "reader", show(r)));
await call("clients.createRole (a second)", () => kc.clients.createRole({ id: app.id, name: "writer" }),
  (r) => check(r.roleName === "writer", show(r)));
await call("clients.listRoles", () => kc.clients.listRoles({ id: app.id }),
  (roles) => check(show(names(roles)) === show(["reader", "writer"]), show(roles)));
const reader = await call("clients.findRole", () => kc.clients.findRole({ id: app.id, roleName: "reader" }),
  (r) => check(r.name === "reader" && r.clientRole === true && r.containerId === app.id, show(r)));
await call("clients.updateRole", () => kc.clients.updateRole({ id: app.id, roleName: "reader" }, { name: "reader", description: "Reads everything" }));
await call("clients.findRole (after update)", () => kc.clients.findRole({ id: app.id, roleName: "reader" }),
  (r) => check(r.description === "Reads everything", show(r)));
await call("clients.findRole (unknown is null)", () => kc.clients.findRole({ id: app.id, roleName: "nobody" }),
  (r) => check(r === null, show(r)));

// ---- realm roles --------------------------------------------------------------

await call("roles.create", () => kc.roles.create({ name: "auditor", description: "Audits" }),
  (r) => check(r.roleName === "auditor", show(r)));
await call("roles.create (a second)", () => kc.roles.create({ name: "viewer" }),
  (r) => check(r.roleName === "viewer", show(r)));
await call("roles.create (a third, for deleting)", () => kc.roles.create({ name: "temporary" }));
await call("roles.find", () => kc.roles.find(), (roles) => {
  const listed = names(roles);
  check(["auditor", "temporary", "viewer"].every((n) => listed.includes(n)), show(listed));
});
const auditor = await call("roles.findOneByName", () => kc.roles.findOneByName({ name: "auditor" }),
  (r) => check(r.name === "auditor" && typeof r.id === "string" && r.clientRole === false, show(r)));
const viewer = await call("roles.findOneByName (viewer)", () => kc.roles.findOneByName({ name: "viewer" }));
await call("roles.updateByName", () => kc.roles.updateByName({ name: "auditor" }, { name: "auditor", description: "Audits the books" }));
await call("roles.findOneById", () => kc.roles.findOneById({ id: auditor.id }),
  (r) => check(r.name === "auditor" && r.description === "Audits the books", show(r)));
const temporary = await call("roles.findOneByName (temporary)", () => kc.roles.findOneByName({ name: "temporary" }));
await call("roles.updateById", () => kc.roles.updateById({ id: temporary.id }, { name: "short-lived", description: "Renamed" }));
await call("roles.findOneById (renamed)", () => kc.roles.findOneById({ id: temporary.id }),
  (r) => check(r.name === "short-lived" && r.description === "Renamed", show(r)));
await call("roles.delById", () => kc.roles.delById({ id: temporary.id }));
await call("roles.findOneById (deleted is null)", () => kc.roles.findOneById({ id: temporary.id }),
  (r) => check(r === null || r === undefined || r === "", show(r)));

// ---- groups ---------------------------------------------------------------------

const staff = await call("groups.create", () => kc.groups.create({ name: "staff" }),
  (r) => check(typeof r.id === "string", show(r)));
const admins = await call("groups.createChildGroup", () => kc.groups.createChildGroup({ id: staff.id }, { name: "admins" }),
  (r) => check(typeof r.id === "string", show(r)));
await call("groups.find", () => kc.groups.find(),
  (groups) => check(groups.length === 1 && groups[0].name === "staff", show(groups)));
await call("groups.findOne", () => kc.groups.findOne({ id: admins.id }),
  (g) => check(g.path === "/staff/admins", show(g)));
await call("groups.listSubGroups", () => kc.groups.listSubGroups({ parentId: staff.id, first: 0, max: 10, briefRepresentation: false }),
  (subs) => check(subs.length === 1 && subs[0].id === admins.id && subs[0].subGroupCount === 0, show(subs)));
await call("groups.count", () => kc.groups.count(), (r) => check(r.count === 2, show(r)));
await call("users.addToGroup", () => kc.users.addToGroup({ id: carol.id, groupId: admins.id }));
await call("groups.listMembers", () => kc.groups.listMembers({ id: admins.id }),
  (members) => check(members.length === 1 && members[0].id === carol.id, show(members)));
await call("users.listGroups", () => kc.users.listGroups({ id: carol.id }),
  (groups) => check(groups.length === 1 && groups[0].path === "/staff/admins", show(groups)));
await call("users.countGroups", () => kc.users.countGroups({ id: carol.id }), (r) => check(r.count === 1, show(r)));

// ---- role mappings --------------------------------------------------------------

await call("users.addRealmRoleMappings", () =>
  kc.users.addRealmRoleMappings({ id: carol.id, roles: [{ id: auditor.id, name: auditor.name }] }));
await call("users.listRealmRoleMappings", () => kc.users.listRealmRoleMappings({ id: carol.id }),
  (roles) => check(show(names(roles)) === show(["auditor"]), show(roles)));
await call("users.addClientRoleMappings", () =>
  kc.users.addClientRoleMappings({ id: carol.id, clientUniqueId: app.id, roles: [{ id: reader.id, name: reader.name }] }));
await call("users.listClientRoleMappings", () => kc.users.listClientRoleMappings({ id: carol.id, clientUniqueId: app.id }),
  (roles) => check(show(names(roles)) === show(["reader"]), show(roles)));
// The group above carol's gives `viewer` and the client's `writer`.
await call("groups.addRealmRoleMappings", () =>
  kc.groups.addRealmRoleMappings({ id: staff.id, roles: [{ id: viewer.id, name: viewer.name }] }));
await call("groups.listRealmRoleMappings", () => kc.groups.listRealmRoleMappings({ id: staff.id }),
  (roles) => check(show(names(roles)) === show(["viewer"]), show(roles)));
const writer = await call("clients.findRole (writer)", () => kc.clients.findRole({ id: app.id, roleName: "writer" }));
await call("groups.addClientRoleMappings", () =>
  kc.groups.addClientRoleMappings({ id: staff.id, clientUniqueId: app.id, roles: [{ id: writer.id, name: writer.name }] }));
await call("groups.listClientRoleMappings", () => kc.groups.listClientRoleMappings({ id: staff.id, clientUniqueId: app.id }),
  (roles) => check(show(names(roles)) === show(["writer"]), show(roles)));
await call("groups.listRoleMappings", () => kc.groups.listRoleMappings({ id: staff.id }), (m) => {
  check(show(names(m.realmMappings)) === show(["viewer"]), show(m));
  check(show(names(m.clientMappings?.["compat-app"]?.mappings ?? [])) === show(["writer"]), show(m));
});
await call("groups.listCompositeRealmRoleMappings (the child inherits)", () => kc.groups.listCompositeRealmRoleMappings({ id: admins.id }),
  (roles) => check(names(roles).includes("viewer"), show(roles)));
await call("groups.listAvailableRealmRoleMappings", () => kc.groups.listAvailableRealmRoleMappings({ id: staff.id }),
  (roles) => check(names(roles).includes("auditor") && !names(roles).includes("viewer"), show(roles)));
await call("groups.listCompositeClientRoleMappings", () => kc.groups.listCompositeClientRoleMappings({ id: admins.id, clientUniqueId: app.id }),
  (roles) => check(show(names(roles)) === show(["writer"]), show(roles)));
await call("groups.listAvailableClientRoleMappings", () => kc.groups.listAvailableClientRoleMappings({ id: staff.id, clientUniqueId: app.id }),
  (roles) => check(show(names(roles)) === show(["reader"]), show(roles)));
await call("users.listRoleMappings", () => kc.users.listRoleMappings({ id: carol.id }), (m) => {
  check(show(names(m.realmMappings)) === show(["auditor"]), show(m));
  const mapped = m.clientMappings?.["compat-app"];
  check(mapped?.id === app.id && show(names(mapped.mappings)) === show(["reader"]), show(m));
});
await call("users.listCompositeRealmRoleMappings (through the group)", () => kc.users.listCompositeRealmRoleMappings({ id: carol.id }),
  (roles) => check(["auditor", "viewer"].every((n) => names(roles).includes(n)), show(roles)));
await call("users.listAvailableRealmRoleMappings", () => kc.users.listAvailableRealmRoleMappings({ id: carol.id }),
  (roles) => check(!names(roles).includes("auditor") && !names(roles).includes("viewer"), show(roles)));
await call("users.listCompositeClientRoleMappings", () => kc.users.listCompositeClientRoleMappings({ id: carol.id, clientUniqueId: app.id }),
  (roles) => check(show(names(roles)) === show(["reader", "writer"]), show(roles)));
await call("users.listAvailableClientRoleMappings", () => kc.users.listAvailableClientRoleMappings({ id: dave.id, clientUniqueId: app.id }),
  (roles) => check(show(names(roles)) === show(["reader", "writer"]), show(roles)));
await call("roles.findUsersWithRole", () => kc.roles.findUsersWithRole({ name: "auditor" }),
  (users) => check(users.length === 1 && users[0].username === "carol", show(users)));
await call("clients.findUsersWithRole", () => kc.clients.findUsersWithRole({ id: app.id, roleName: "reader" }),
  (users) => check(users.length === 1 && users[0].username === "carol", show(users)));

// ---- client scopes and protocol mappers -----------------------------------------

const scope = await call("clientScopes.create", () => kc.clientScopes.create({
  name: "compat-scope", protocol: "openid-connect", attributes: { "include.in.token.scope": "true" },
}), (r) => check(typeof r.id === "string", show(r)));
await call("clientScopes.find", () => kc.clientScopes.find(),
  (scopes) => check(scopes.some((s) => s.name === "compat-scope") && scopes.some((s) => s.name === "email"), show(scopes.map((s) => s.name))));
await call("clientScopes.findOne", () => kc.clientScopes.findOne({ id: scope.id }),
  (s) => check(s.name === "compat-scope" && s.protocol === "openid-connect", show(s)));
await call("clientScopes.addProtocolMapper", () => kc.clientScopes.addProtocolMapper({ id: scope.id }, {
  name: "tier", protocol: "openid-connect", protocolMapper: "oidc-hardcoded-claim-mapper",
  config: { "claim.name": "tier", "claim.value": "gold", "jsonType.label": "String", "access.token.claim": "true" },
}));
const mappers = await call("clientScopes.listProtocolMappers", () => kc.clientScopes.listProtocolMappers({ id: scope.id }),
  (list) => check(list.length === 1 && list[0].name === "tier", show(list)));
await call("clientScopes.updateProtocolMapper", () => kc.clientScopes.updateProtocolMapper({ id: scope.id, mapperId: mappers[0].id }, {
  ...mappers[0], config: { ...mappers[0].config, "claim.value": "platinum" },
}));
await call("clients.addDefaultClientScope", () => kc.clients.addDefaultClientScope({ id: app.id, clientScopeId: scope.id }));
await call("clients.listDefaultClientScopes", () => kc.clients.listDefaultClientScopes({ id: app.id }),
  (scopes) => check(scopes.some((s) => s.name === "compat-scope") && scopes.some((s) => s.name === "email"), show(scopes)));

// ---- attack detection -------------------------------------------------------------

const tokenUrl = `${baseUrl}/realms/${REALM}/protocol/openid-connect/token`;
const passwordGrant = (password) => fetch(tokenUrl, {
  method: "POST",
  headers: {
    "content-type": "application/x-www-form-urlencoded",
    authorization: `Basic ${Buffer.from(`compat-app:${secret.value}`).toString("base64")}`,
  },
  body: new URLSearchParams({ grant_type: "password", username: "carol", password, scope: "openid" }),
});

await protocol("token endpoint refuses a wrong password", async () => {
  const response = await passwordGrant("not-carols-password");
  check(response.status === 400 || response.status === 401, `status ${response.status}`);
});
await call("attackDetection.findOne", () => kc.attackDetection.findOne({ id: carol.id }),
  (r) => check(r.numFailures === 1 && r.disabled === false, show(r)));
await call("attackDetection.del", () => kc.attackDetection.del({ id: carol.id }));
await call("attackDetection.findOne (cleared)", () => kc.attackDetection.findOne({ id: carol.id }),
  (r) => check(r.numFailures === 0, show(r)));
await call("attackDetection.delAll", () => kc.attackDetection.delAll());

// ---- what the admin client set shows in a token -------------------------------------

const tokens = await protocol("password grant for carol at compat-app", async () => {
  const response = await passwordGrant(carolPassword);
  const body = await response.text();
  check(response.status === 200, `status ${response.status}: ${body}`);
  return JSON.parse(body);
});
const access = claimsOf(tokens.access_token);
await protocol("the access token carries the mapped roles, emailVerified and the mapper's claim", async () => {
  check(access.realm_access?.roles?.includes("auditor"), `realm_access ${show(access.realm_access)}`);
  check(access.realm_access.roles.includes("viewer"), `group role: realm_access ${show(access.realm_access)}`);
  const clientRoles = access.resource_access?.["compat-app"]?.roles ?? [];
  check(clientRoles.includes("reader") && clientRoles.includes("writer"), `resource_access ${show(access.resource_access)}`);
  check(access.email_verified === true, `email_verified ${access.email_verified}`);
  check(access.tier === "platinum", `tier ${access.tier}`);
  check(access.groups?.includes("/staff/admins"), `groups ${show(access.groups)}`);
});
await protocol("the ID token says email_verified", async () => {
  check(claimsOf(tokens.id_token).email_verified === true, "email_verified in the ID token");
});
await protocol("userinfo says email_verified", async () => {
  const response = await fetch(`${baseUrl}/realms/${REALM}/protocol/openid-connect/userinfo`, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  check(response.status === 200, `status ${response.status}`);
  const info = await response.json();
  check(info.email_verified === true && info.email === "carol@compat.example", show(info));
});

// ---- sessions ---------------------------------------------------------------------

await call("users.listSessions", () => kc.users.listSessions({ id: carol.id }), (sessions) => {
  check(sessions.length === 1 && sessions[0].username === "carol", show(sessions));
  check(Object.values(sessions[0].clients ?? {}).includes("compat-app"), show(sessions));
});
await call("clients.listSessions", () => kc.clients.listSessions({ id: app.id }),
  (sessions) => check(sessions.length === 1 && sessions[0].userId === carol.id, show(sessions)));
await call("clients.getSessionCount", () => kc.clients.getSessionCount({ id: app.id }), (r) => check(r.count === 1, show(r)));
await call("users.logout", () => kc.users.logout({ id: carol.id }));
await call("users.listSessions (after logout)", () => kc.users.listSessions({ id: carol.id }),
  (sessions) => check(sessions.length === 0, show(sessions)));
await protocol("the logged-out user's token is refused at userinfo", async () => {
  const response = await fetch(`${baseUrl}/realms/${REALM}/protocol/openid-connect/userinfo`, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  check(response.status === 401, `status ${response.status}`);
});

// ---- partial export -------------------------------------------------------------------

await call("realms.export (partial: clients, groups and roles)", () =>
  kc.realms.export({ realm: REALM, exportClients: true, exportGroupsAndRoles: true }), (doc) => {
  check(doc.realm === REALM, "realm");
  check(doc.users === undefined, "no users in a partial export");
  const exported = (doc.clients ?? []).find((c) => c.clientId === "compat-app");
  check(exported?.secret === "**********", `secret masked: ${show(exported)}`);
  check(exported.name === "Compat App", "client name");
  check(doc.roles?.realm?.some((r) => r.name === "auditor"), "realm roles");
  check(doc.groups?.some((g) => g.name === "staff"), "groups");
  check(doc.clientScopes?.some((s) => s.name === "compat-scope"), "client scopes");
});
await call("realms.export (partial, nothing asked)", () => kc.realms.export({ realm: REALM }), (doc) => {
  check(doc.clients === undefined && doc.roles === undefined && doc.groups === undefined, Object.keys(doc).join(","));
});

// ---- taking things away and cleaning up --------------------------------------------------

await call("clientScopes.delProtocolMapper", () => kc.clientScopes.delProtocolMapper({ id: scope.id, mapperId: mappers[0].id }));
await call("users.delFromGroup", () => kc.users.delFromGroup({ id: carol.id, groupId: admins.id }));
await call("users.delRealmRoleMappings", () =>
  kc.users.delRealmRoleMappings({ id: carol.id, roles: [{ id: auditor.id, name: auditor.name }] }));
await call("users.delClientRoleMappings", () =>
  kc.users.delClientRoleMappings({ id: carol.id, clientUniqueId: app.id, roles: [{ id: reader.id, name: reader.name }] }));
await call("groups.delClientRoleMappings", () =>
  kc.groups.delClientRoleMappings({ id: staff.id, clientUniqueId: app.id, roles: [{ id: writer.id, name: writer.name }] }));
await call("users.listCompositeRealmRoleMappings (none left)", () => kc.users.listCompositeRealmRoleMappings({ id: carol.id }),
  (roles) => check(!names(roles).includes("auditor") && !names(roles).includes("viewer"), show(roles)));
await call("clients.delRole", () => kc.clients.delRole({ id: app.id, roleName: "writer" }));
await call("roles.delByName", () => kc.roles.delByName({ name: "viewer" }));
await call("groups.del", () => kc.groups.del({ id: staff.id }));
await call("clientScopes.del", () => kc.clientScopes.del({ id: scope.id }));
await call("users.del", () => kc.users.del({ id: dave.id }));
await call("users.count (after delete)", () => kc.users.count(), (n) => check(n === 1, show(n)));
await call("clients.del", () => kc.clients.del({ id: app.id }));
kc.setConfig({ realmName: "master" });
await refused("realms.del (master is kept)", 409, () => kc.realms.del({ realm: "master" }));
await call("realms.del", () => kc.realms.del({ realm: REALM }));
await call("realms.findOne (deleted is null)", () => kc.realms.findOne({ realm: REALM }), (r) => check(r === null, show(r)));

console.log(`SUITE OK: ${adminCalls} admin client calls, ${protocolCalls} protocol checks`);
