# Offline seeding of a freshly provisioned Samba AD DC for Unlatch's tests.
#
# Runs BEFORE `samba` starts, directly on sam.ldb with Samba's own Python bindings (so it takes
# a fraction of a second and needs no network). It creates the *structure* the tests rely on;
# people are created later over LDAPS by test/support/directory.ts, so seed users and users made
# on demand by a test go through the same code path.
#
#   * domain password policy: complexity on, min length 8, history 24, min age 0, max age 42 d,
#     lockout threshold 3, lockout duration 30 min, reset-after (observation window) 30 min
#   * OU=People            every test user lives here; the service accounts are delegated on it
#   * OU=Groups            "Unlatch Users" (the scope group)
#                          "Unlatch Users Nested" (member of "Unlatch Users": nested scope)
#                          "Unlatch PSO Users" (target of the fine-grained policy below)
#   * OU=Service Accounts  svc-unlatch, svc-nolockout: plain Domain Users, NOT admins
#   * a fine-grained password policy (PSO) "Unlatch Fine Grained" applied to "Unlatch PSO Users":
#     min length 10, history 5, complexity on, min age 0, max age 90 d, lockout threshold 5,
#     so tests can prove the agent reads msDS-ResultantPSO and that the DC enforces it.
#   * delegation on OU=People (inheritable ACEs that only apply to user objects):
#       svc-unlatch:   Reset Password        (control access 00299570-246d-11d0-a768-00aa006e0529)
#                      Change Password       (control access ab721a53-1e2f-11d0-9819-00aa0040529b)
#                      Write lockoutTime     (write property 28630ebf-41d5-11d1-a9c1-0000f80367c1)
#                      Write pwdLastSet      (write property bf967a0a-0de6-11d0-a285-00aa003049e2)
#                      Read all properties   (so msDS-ResultantPSO, memberOf... are readable)
#       svc-nolockout: the same minus Write lockoutTime
#     plus, for both, List/Read on CN=Password Settings Container,CN=System (by default only
#     admins may read PSOs, and the agent needs their values to show the real rules).
#
# Input: one JSON object on stdin:
#   {"smbconf": "...", "adminPassword": "...",
#    "service": {"sam": "...", "password": "..."}, "serviceNoLockout": {...}}
# Output: one JSON object on stdout with the DNs it created. Passwords are never printed.
import json
import sys

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.sd_utils import SDUtils

USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"
CHANGE_PASSWORD = "ab721a53-1e2f-11d0-9819-00aa0040529b"
ATTR_LOCKOUT_TIME = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
ATTR_PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"

SECOND = 10_000_000  # AD intervals are negative numbers of 100 ns units
MINUTES_30 = -30 * 60 * SECOND
DAYS = -86400 * SECOND


def main():
    args = json.load(sys.stdin)
    lp = LoadParm()
    lp.load(args["smbconf"])
    samdb = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
    base = str(samdb.domain_dn())
    out = {"baseDN": base}

    samdb.transaction_start()
    try:
        samdb.setpassword("(sAMAccountName=Administrator)", args["adminPassword"])
        out["adminDN"] = f"CN=Administrator,CN=Users,{base}"

        m = ldb.Message()
        m.dn = ldb.Dn(samdb, base)
        for attr, value in {
            "minPwdLength": "8",
            "pwdProperties": "1",  # DOMAIN_PASSWORD_COMPLEX
            "pwdHistoryLength": "24",
            "minPwdAge": "0",
            "maxPwdAge": str(42 * DAYS),
            "lockoutThreshold": "3",
            "lockoutDuration": str(MINUTES_30),
            "lockOutObservationWindow": str(MINUTES_30),
        }.items():
            m[attr] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE, attr)
        samdb.modify(m)

        for ou in ("People", "Groups", "Service Accounts"):
            samdb.add({"dn": f"OU={ou},{base}", "objectClass": "organizationalUnit"})
        people = f"OU=People,{base}"
        groups = f"OU=Groups,{base}"
        out["peopleDN"] = people
        out["serviceAccountsDN"] = f"OU=Service Accounts,{base}"

        for name in ("Unlatch Users", "Unlatch Users Nested", "Unlatch PSO Users"):
            samdb.newgroup(name, groupou="OU=Groups")
        out["scopeGroupDN"] = f"CN=Unlatch Users,{groups}"
        out["nestedScopeGroupDN"] = f"CN=Unlatch Users Nested,{groups}"
        out["psoGroupDN"] = f"CN=Unlatch PSO Users,{groups}"
        samdb.add_remove_group_members("Unlatch Users", ["Unlatch Users Nested"],
                                       add_members_operation=True)

        pso_container = f"CN=Password Settings Container,CN=System,{base}"
        out["psoDN"] = f"CN=Unlatch Fine Grained,{pso_container}"
        samdb.add({
            "dn": out["psoDN"],
            "objectClass": "msDS-PasswordSettings",
            "msDS-PasswordSettingsPrecedence": "10",
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
            "msDS-PasswordHistoryLength": "5",
            "msDS-PasswordComplexityEnabled": "TRUE",
            "msDS-MinimumPasswordLength": "10",
            "msDS-MinimumPasswordAge": "0",
            "msDS-MaximumPasswordAge": str(90 * DAYS),
            "msDS-LockoutThreshold": "5",
            "msDS-LockoutObservationWindow": str(MINUTES_30),
            "msDS-LockoutDuration": str(MINUTES_30),
            "msDS-PSOAppliesTo": out["psoGroupDN"],
        })

        sd = SDUtils(samdb)
        for key in ("service", "serviceNoLockout"):
            acct = args[key]
            sam = acct["sam"]
            samdb.newuser(sam, acct["password"], userou="OU=Service Accounts",
                          useusernameascn=True,
                          description="Unlatch agent service account (test directory)")
            dn = f"CN={sam},OU=Service Accounts,{base}"
            sid = str(sd.get_object_sid(dn))
            aces = [
                f"(OA;CIIO;CR;{RESET_PASSWORD};{USER_CLASS};{sid})",
                f"(OA;CIIO;CR;{CHANGE_PASSWORD};{USER_CLASS};{sid})",
                f"(OA;CIIO;WP;{ATTR_PWD_LAST_SET};{USER_CLASS};{sid})",
                f"(OA;CIIO;RP;;{USER_CLASS};{sid})",
            ]
            if key == "service":
                aces.append(f"(OA;CIIO;WP;{ATTR_LOCKOUT_TIME};{USER_CLASS};{sid})")
            sd.dacl_add_ace(people, "".join(aces))
            sd.dacl_add_ace(pso_container, f"(A;CI;LCRPLORC;;;{sid})")
            out[key] = {"dn": dn, "sid": sid}
    except BaseException:
        samdb.transaction_cancel()
        raise
    samdb.transaction_commit()
    json.dump(out, sys.stdout)


main()
