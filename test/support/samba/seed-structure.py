# Offline seeding of a freshly provisioned Samba AD DC (runs BEFORE `samba` is started, directly
# on sam.ldb, with Samba's own Python bindings, so it is fast and needs no network).
#
# It creates the *structure* the tests rely on; people are created later over LDAPS by
# test/support/directory.ts (one code path for seed users and on-demand users).
#
#   * domain password policy: complexity on, min length 8, history 24, min age 0, max age 42 d,
#     lockout threshold 3, lockout duration 30 min, reset-after (observation window) 30 min
#   * OU=People        all test users live here; the service accounts are delegated on it
#   * OU=Groups        "Unlatch Users" (scope group), "Unlatch Expiring Passwords" (PSO target)
#   * OU=Service Accounts  svc-unlatch, svc-nolockout (plain Domain Users, NOT admins)
#   * a fine-grained password policy (PSO) "Unlatch Expire Fast" with msDS-MaximumPasswordAge
#     of 1 second, applied to "Unlatch Expiring Passwords": any member's password is "expired by
#     age" (AD bind error data 532, Kerberos "Password has expired") about one second after it
#     was set. This is how the tests get a real age-expired account without waiting 42 days.
#   * delegation (inheritable ACEs on OU=People, effective on user objects only):
#       svc-unlatch:   Reset Password (CR 00299570-...), Change Password (CR ab721a53-...),
#                      Write Property lockoutTime, Write Property pwdLastSet,
#                      Read Property (all) on users;
#                      List/Read on the Password Settings Container (so msDS-ResultantPSO's
#                      target can be read, which only admins may do by default)
#       svc-nolockout: the same minus Write Property lockoutTime
#
# Input: one JSON object on stdin:
#   {"smbconf": "...", "adminPassword": "...",
#    "service": {"sam": "...", "password": "..."}, "serviceNoLockout": {...}}
# Output: one JSON object on stdout with the DNs created. Passwords are never printed.
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

MINUTES_30 = -30 * 60 * 10_000_000  # AD intervals: negative 100 ns units


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

        # Domain password + lockout policy.
        m = ldb.Message()
        m.dn = ldb.Dn(samdb, base)
        for attr, value in {
            "minPwdLength": "8",
            "pwdProperties": "1",  # DOMAIN_PASSWORD_COMPLEX
            "pwdHistoryLength": "24",
            "minPwdAge": "0",
            "maxPwdAge": str(-42 * 86400 * 10_000_000),
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

        samdb.newgroup("Unlatch Users", groupou="OU=Groups")
        samdb.newgroup("Unlatch Expiring Passwords", groupou="OU=Groups")
        out["scopeGroupDN"] = f"CN=Unlatch Users,{groups}"
        out["expiringGroupDN"] = f"CN=Unlatch Expiring Passwords,{groups}"

        pso_container = f"CN=Password Settings Container,CN=System,{base}"
        out["expiringPsoDN"] = f"CN=Unlatch Expire Fast,{pso_container}"
        samdb.add({
            "dn": out["expiringPsoDN"],
            "objectClass": "msDS-PasswordSettings",
            "msDS-PasswordSettingsPrecedence": "10",
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
            "msDS-PasswordHistoryLength": "24",
            "msDS-PasswordComplexityEnabled": "TRUE",
            "msDS-MinimumPasswordLength": "8",
            "msDS-MinimumPasswordAge": "0",
            "msDS-MaximumPasswordAge": str(-1 * 10_000_000),  # 1 second
            "msDS-LockoutThreshold": "3",
            "msDS-LockoutObservationWindow": str(MINUTES_30),
            "msDS-LockoutDuration": str(MINUTES_30),
            "msDS-PSOAppliesTo": out["expiringGroupDN"],
        })

        sd = SDUtils(samdb)
        for key in ("service", "serviceNoLockout"):
            acct = args[key]
            sam = acct["sam"]
            samdb.newuser(sam, acct["password"], userou="OU=Service Accounts",
                          useusernameascn=True, description="Unlatch agent service account (test)")
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
