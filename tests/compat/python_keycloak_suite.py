"""python-keycloak against a running Latch: the calls an application written
for Keycloak makes, each checked. The first failure ends the run with a
non-zero exit and says which call failed and why.

Settings come from the environment:
  LATCH_URL             the server's base URL (http://127.0.0.1:PORT)
  LATCH_REALM           the realm of the application and its user
  LATCH_CLIENT_ID       a confidential client allowed the password and
  LATCH_CLIENT_SECRET   client_credentials grants
  LATCH_USERNAME        a user of the realm, and their password
  LATCH_PASSWORD
  LATCH_ADMIN_PASSWORD  the password of `admin` in realm `master`
"""

import os
import sys
import time
import traceback

from keycloak import KeycloakAdmin, KeycloakOpenID
from keycloak.exceptions import KeycloakError

SETTINGS = (
    "LATCH_URL",
    "LATCH_REALM",
    "LATCH_CLIENT_ID",
    "LATCH_CLIENT_SECRET",
    "LATCH_USERNAME",
    "LATCH_PASSWORD",
    "LATCH_ADMIN_PASSWORD",
)


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def step(name, call):
    """Runs one call; on any failure prints why and exits 1."""
    started = time.monotonic()
    try:
        result = call()
    except Failed as e:
        print(f"FAILED {name}: {e}", flush=True)
        sys.exit(1)
    except KeycloakError as e:
        print(
            f"FAILED {name}: HTTP {e.response_code}: {e.response_body!r}",
            flush=True,
        )
        sys.exit(1)
    except Exception:  # noqa: BLE001 - any surprise is a failure of this step
        print(f"FAILED {name}:", flush=True)
        traceback.print_exc(file=sys.stdout)
        sys.exit(1)
    print(f"ok {name} ({(time.monotonic() - started) * 1000:.0f} ms)", flush=True)
    return result


def refused(call, status, error):
    """The call must raise a KeycloakError with this HTTP status and OAuth error."""
    try:
        call()
    except KeycloakError as e:
        body = (e.response_body or b"").decode(errors="replace")
        check(e.response_code == status, f"expected HTTP {status}, got {e.response_code}: {body}")
        check(error in body, f"expected `{error}` in {body!r}")
        return
    raise Failed(f"expected HTTP {status} {error}, but the call succeeded")


def openid_suite(env):
    oidc = KeycloakOpenID(
        server_url=env["LATCH_URL"],
        realm_name=env["LATCH_REALM"],
        client_id=env["LATCH_CLIENT_ID"],
        client_secret_key=env["LATCH_CLIENT_SECRET"],
    )
    username = env["LATCH_USERNAME"]

    def password_grant():
        token = oidc.token(username, env["LATCH_PASSWORD"])
        for field in ("access_token", "refresh_token", "id_token", "session_state"):
            check(token.get(field), f"no {field} in {sorted(token)}")
        check(token["token_type"].lower() == "bearer", token["token_type"])
        check(token["not-before-policy"] == 0, token["not-before-policy"])
        check("openid" in token["scope"].split(), token["scope"])
        return token

    token = step("KeycloakOpenID.token (password grant)", password_grant)

    def wrong_password():
        # Latch answers RFC 6749's 400 invalid_grant where Keycloak says 401.
        refused(lambda: oidc.token(username, "not the password"), 400, "invalid_grant")

    step("KeycloakOpenID.token with a wrong password", wrong_password)

    def userinfo():
        info = oidc.userinfo(token["access_token"])
        check(info.get("preferred_username") == username, info)
        check(info.get("sub"), info)
        return info

    info = step("KeycloakOpenID.userinfo", userinfo)

    def introspect():
        result = oidc.introspect(token["access_token"])
        check(result.get("active") is True, result)
        check(result.get("sub") == info["sub"], result)
        check(result.get("client_id") == env["LATCH_CLIENT_ID"], result)

    step("KeycloakOpenID.introspect", introspect)

    def decode():
        claims = oidc.decode_token(token["access_token"])
        check(claims["sub"] == info["sub"], claims)
        check(claims["iss"] == f"{env['LATCH_URL']}/realms/{env['LATCH_REALM']}", claims)
        check(claims["sid"] == token["session_state"], claims)
        id_claims = oidc.decode_token(token["id_token"])
        check(id_claims["aud"] in (env["LATCH_CLIENT_ID"], [env["LATCH_CLIENT_ID"]]), id_claims)
        check(id_claims["sub"] == info["sub"], id_claims)
        keys = oidc.certs()["keys"]
        check(keys and all(k.get("kid") for k in keys), keys)

    step("KeycloakOpenID.decode_token with the realm's JWKS", decode)

    def refresh():
        renewed = oidc.refresh_token(token["refresh_token"])
        check(renewed["refresh_token"] != token["refresh_token"], "the refresh token was not rotated")
        check(renewed["session_state"] == token["session_state"], renewed)
        check(oidc.userinfo(renewed["access_token"])["sub"] == info["sub"], "userinfo after refresh")
        return renewed

    renewed = step("KeycloakOpenID.refresh_token", refresh)

    def logout():
        oidc.logout(renewed["refresh_token"])
        check(oidc.introspect(renewed["access_token"]).get("active") is False, "access token still active")

    step("KeycloakOpenID.logout (by refresh token)", logout)

    step(
        "KeycloakOpenID.refresh_token after logout is refused",
        lambda: refused(lambda: oidc.refresh_token(renewed["refresh_token"]), 400, "invalid_grant"),
    )

    def client_credentials():
        # python-keycloak asks for its default scope, `openid`: Latch issues
        # an access token and, with no user, no ID token.
        service = oidc.token(grant_type="client_credentials")
        check(service.get("access_token"), service)
        check("id_token" not in service, f"an ID token without a user: {sorted(service)}")
        check("refresh_token" not in service, sorted(service))
        claims = oidc.decode_token(service["access_token"])
        check(claims["client_id"] == env["LATCH_CLIENT_ID"], claims)
        check(oidc.introspect(service["access_token"]).get("active") is True, "inactive")

    step("KeycloakOpenID.token (client_credentials, default scope)", client_credentials)
    return oidc, info


def admin_suite(env, oidc, info):
    admin = step(
        "KeycloakAdmin as admin of realm master",
        lambda: KeycloakAdmin(
            server_url=env["LATCH_URL"],
            username="admin",
            password=env["LATCH_ADMIN_PASSWORD"],
            realm_name=env["LATCH_REALM"],
            user_realm_name="master",
        ),
    )

    def user_id():
        found = admin.get_user_id(env["LATCH_USERNAME"])
        check(found == info["sub"], f"{found} != {info['sub']}")
        check(admin.get_user_id("nobody-by-that-name") is None, "an unknown user was found")
        return found

    uid = step("KeycloakAdmin.get_user_id", user_id)

    payload = {
        "username": "py-carol",
        "email": "carol@example.org",
        "enabled": True,
        "firstName": "Carol",
        "credentials": [{"type": "password", "value": "a long and sturdy pass", "temporary": False}],
    }
    carol = step("KeycloakAdmin.create_user", lambda: admin.create_user(payload, exist_ok=True))
    check_same = lambda: check(  # noqa: E731
        admin.create_user(payload, exist_ok=True) == carol, "a second create_user gave another id"
    )
    step("KeycloakAdmin.create_user again (exist_ok)", check_same)
    step(
        "KeycloakAdmin.get_user",
        lambda: check(admin.get_user(carol)["username"] == "py-carol", "get_user"),
    )

    role = step(
        "KeycloakAdmin.create_realm_role",
        lambda: admin.create_realm_role({"name": "py-reader", "description": "reads"}, skip_exists=True),
    )
    check(role == "py-reader", role)

    def assign():
        rep = admin.get_realm_role("py-reader")
        check(rep["name"] == "py-reader", rep)
        admin.assign_realm_roles(carol, [rep])

    step("KeycloakAdmin.assign_realm_roles", assign)

    def roles_of_user():
        names = [r["name"] for r in admin.get_realm_roles_of_user(carol)]
        check("py-reader" in names, names)

    step("KeycloakAdmin.get_realm_roles_of_user", roles_of_user)

    def user_logout():
        token = oidc.token(env["LATCH_USERNAME"], env["LATCH_PASSWORD"])
        check(oidc.introspect(token["access_token"]).get("active") is True, "not active before")
        admin.user_logout(uid)
        check(oidc.introspect(token["access_token"]).get("active") is False, "still active")
        refused(lambda: oidc.refresh_token(token["refresh_token"]), 400, "invalid_grant")

    step("KeycloakAdmin.user_logout", user_logout)


def main():
    missing = [name for name in SETTINGS if not os.environ.get(name)]
    if missing:
        print(f"FAILED set-up: missing {', '.join(missing)}", flush=True)
        return 2
    env = {name: os.environ[name] for name in SETTINGS}
    oidc, info = openid_suite(env)
    admin_suite(env, oidc, info)
    print("all python-keycloak calls passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
