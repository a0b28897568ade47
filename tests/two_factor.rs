//! Two-factor sign-in (TOTP): enrolment is confirmed by a code; a person with a second factor gets no session
//! from the password alone; wrong codes are throttled like wrong passwords; a code is not accepted twice in its
//! step; a recovery code opens once; a tenant's requirement sends its people to enrol first; switching it off
//! needs proof; everything is audited without the secret or the codes; a viewer protects their own sign-in.

mod common;

use common::fixtures;
use common::Backend;
use integration_hub::model::{ErrorCode, NewInvite, Role, TotpEnrolment, User};
use integration_hub::server::auth::session::PendingStep;
use integration_hub::server::auth::totp;
use integration_hub::server::service::accounts::SignIn;
use integration_hub::server::service::{Actor, AppState};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

const IP: &str = "10.7.0.1";

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The code an authenticator app shows `offset` seconds from now.
fn code(e: &TotpEnrolment, offset: i64) -> String {
    totp::code_at(&e.secret, now_s().saturating_add_signed(offset)).unwrap()
}

/// Signs in with the password; the pending token when a second step is needed.
async fn password_step(hub: &AppState, email: &str, password: &str) -> (String, PendingStep) {
    match hub.sign_in(email, password, IP, None).await.unwrap() {
        SignIn::Pending(_, token, step) => (token, step),
        SignIn::Session(..) => panic!("{email} got a session from the password alone"),
    }
}

async fn audit_text(hub: &AppState) -> (Vec<String>, String) {
    let entries = hub.store.list_audit(None, 1000).await.unwrap();
    let actions = entries.iter().map(|e| e.action.clone()).collect();
    (actions, serde_json::to_string(&entries).unwrap())
}

/// A tenant user with a confirmed authenticator: the user, the enrolment (its secret) and the recovery codes.
async fn enrolled(hub: &AppState, tenant: &str) -> (User, TotpEnrolment, Vec<String>) {
    let user = fixtures::add_tenant_user(hub, tenant).await;
    let e = hub.begin_two_factor(&user).await.unwrap();
    let codes = hub.confirm_two_factor(&user, &code(&e, 0)).await.unwrap();
    (user, e, codes)
}

backend_tests!(enrolment_is_confirmed_by_a_code_and_sign_in_then_needs_one);
async fn enrolment_is_confirmed_by_a_code_and_sign_in_then_needs_one(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let user = fixtures::add_tenant_user(&hub, &acme.id).await;
    assert!(matches!(
        hub.sign_in(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, IP, None).await.unwrap(),
        SignIn::Session(..)
    ));

    let e = hub.begin_two_factor(&user).await.unwrap();
    assert!(e.otpauth_url.starts_with("otpauth://totp/Integration%20Hub:u%40acme.test?"), "[{n}] {}", e.otpauth_url);
    assert!(e.otpauth_url.contains(&format!("secret={}", e.secret)), "[{n}]");
    assert!(e.qr_svg.starts_with("<svg") && !e.qr_svg.contains("style"), "[{n}]");
    // Not on until confirmed: the password alone still signs in.
    assert!(!hub.two_factor_status(&user).await.unwrap().enabled, "[{n}]");
    assert!(matches!(
        hub.sign_in(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, IP, None).await.unwrap(),
        SignIn::Session(..)
    ));
    let wrong = hub.confirm_two_factor(&user, "000000").await.unwrap_err();
    assert_eq!(wrong.code, ErrorCode::ValidationFailed, "[{n}] {wrong:?}");
    let now = code(&e, 0);
    let codes = hub.confirm_two_factor(&user, &now).await.unwrap();
    assert_eq!(codes.len(), 10, "[{n}]");
    let state = hub.two_factor_status(&user).await.unwrap();
    assert!(state.enabled && state.recovery_codes_left == 10 && !state.required, "[{n}] {state:?}");
    // A second set-up is refused while one is on.
    assert_eq!(hub.begin_two_factor(&user).await.unwrap_err().code, ErrorCode::Conflict, "[{n}]");

    // The password alone no longer opens a session.
    let (pending, step) = password_step(&hub, fixtures::USER_EMAIL, fixtures::USER_PASSWORD).await;
    assert_eq!(step, PendingStep::Code, "[{n}]");
    let login = hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, IP).await.unwrap_err();
    assert_eq!(login.code, ErrorCode::Unauthorized, "[{n}] the plain login refuses too");
    // The code that confirmed enrolment was used in its step: not again.
    let replay = hub.second_factor(&pending, &now, IP, None).await.unwrap_err();
    assert_eq!(replay.code, ErrorCode::ValidationFailed, "[{n}] replayed code: {replay:?}");
    // A forged or foreign pending token opens nothing.
    let forged = pending.replacen(&user.id, "usr_someone_else", 1);
    assert_eq!(hub.second_factor(&forged, &code(&e, 30), IP, None).await.unwrap_err().code, ErrorCode::Unauthorized);
    // The next step's code (one step of skew) opens the session, once.
    let next = code(&e, 30);
    let (who, session) = hub.second_factor(&pending, &next, IP, Some("Firefox")).await.unwrap();
    assert_eq!(who.id, user.id, "[{n}]");
    assert_eq!(hub.session_user(Some(&session)).await.unwrap().id, user.id, "[{n}] the session works");
    let again = hub.second_factor(&pending, &next, IP, None).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::ValidationFailed, "[{n}] a code is accepted once in its step");

    // Audited, without the secret or any code.
    let (actions, text) = audit_text(&hub).await;
    assert!(actions.iter().any(|a| a == "user.two_factor_enabled"), "[{n}] {actions:?}");
    assert!(!text.contains(&e.secret), "[{n}] the secret is in the audit trail");
    for c in codes.iter().chain([&now, &next]) {
        assert!(!text.contains(c.as_str()), "[{n}] a code is in the audit trail");
    }
}

backend_tests!(wrong_codes_count_as_failed_sign_ins);
async fn wrong_codes_count_as_failed_sign_ins(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let (_user, e, _) = enrolled(&hub, &acme.id).await;
    let (pending, _) = password_step(&hub, fixtures::USER_EMAIL, fixtures::USER_PASSWORD).await;
    for i in 0..integration_hub::server::auth::throttle::MAX_FAILURES {
        let wrong = hub.second_factor(&pending, "000001", IP, None).await.unwrap_err();
        assert_eq!(wrong.code, ErrorCode::ValidationFailed, "[{n}] guess {i}");
    }
    // Locked: even the right code, and the password step, wait now.
    let locked = hub.second_factor(&pending, &code(&e, 30), IP, None).await.unwrap_err();
    assert_eq!(locked.code, ErrorCode::RateLimited, "[{n}] {locked:?}");
    let again = hub.sign_in(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, "10.7.9.9", None).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::RateLimited, "[{n}] the email is locked from every address");
}

backend_tests!(a_known_password_does_not_reset_the_count_of_wrong_codes);
/// Signing in with the right password again does not clear the wrong codes counted so far: only a passed
/// second step does.
async fn a_known_password_does_not_reset_the_count_of_wrong_codes(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    enrolled(&hub, &acme.id).await;
    let max = integration_hub::server::auth::throttle::MAX_FAILURES;
    for round in 0..max {
        let Ok(SignIn::Pending(_, pending, _)) =
            hub.sign_in(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, IP, None).await
        else {
            panic!("[{n}] round {round}: the password step was refused");
        };
        let _ = hub.second_factor(&pending, "000001", IP, None).await.unwrap_err();
    }
    let locked = hub.sign_in(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, IP, None).await.unwrap_err();
    assert_eq!(locked.code, ErrorCode::RateLimited, "[{n}] {locked:?}");
}

backend_tests!(a_recovery_code_opens_once_and_new_codes_replace_the_old);
async fn a_recovery_code_opens_once_and_new_codes_replace_the_old(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let (user, e, codes) = enrolled(&hub, &acme.id).await;
    let (pending, _) = password_step(&hub, fixtures::USER_EMAIL, fixtures::USER_PASSWORD).await;
    // Typed in capitals without the dash: still the code.
    let typed = codes[0].replace('-', "").to_uppercase();
    let (_, session) = hub.second_factor(&pending, &typed, IP, None).await.unwrap();
    assert!(hub.session_user(Some(&session)).await.is_ok(), "[{n}]");
    let (pending, _) = password_step(&hub, fixtures::USER_EMAIL, fixtures::USER_PASSWORD).await;
    let used = hub.second_factor(&pending, &codes[0], IP, None).await.unwrap_err();
    assert_eq!(used.code, ErrorCode::ValidationFailed, "[{n}] a recovery code opens once");
    assert_eq!(hub.two_factor_status(&user).await.unwrap().recovery_codes_left, 9, "[{n}]");

    // New codes need a current code; the old ones stop working.
    let wrong = hub.regenerate_recovery_codes(&user, "000001", IP).await.unwrap_err();
    assert_eq!(wrong.code, ErrorCode::ValidationFailed, "[{n}]");
    let fresh = hub.regenerate_recovery_codes(&user, &code(&e, 30), IP).await.unwrap();
    assert_eq!(fresh.len(), 10, "[{n}]");
    assert!(fresh.iter().all(|c| !codes.contains(c)), "[{n}]");
    let old = hub.second_factor(&pending, &codes[1], IP, None).await.unwrap_err();
    assert_eq!(old.code, ErrorCode::ValidationFailed, "[{n}] the old codes are gone");
    hub.second_factor(&pending, &fresh[3], IP, None).await.unwrap();

    let (actions, text) = audit_text(&hub).await;
    for want in ["user.recovery_code_used", "user.recovery_codes_regenerated"] {
        assert!(actions.iter().any(|a| a == want), "[{n}] {want}: {actions:?}");
    }
    for c in codes.iter().chain(fresh.iter()) {
        assert!(!text.contains(c.as_str()) && !text.contains(&c.replace('-', "")), "[{n}] a code is audited");
    }
}

backend_tests!(a_tenants_requirement_sends_its_people_to_enrol_first);
async fn a_tenants_requirement_sends_its_people_to_enrol_first(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let root = hub.create_user(Actor::System, "root@hub.test", "admin-password-1", Role::Admin, None).await.unwrap();
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let globex = hub.create_tenant(Actor::System, "Globex").await.unwrap();
    let user = fixtures::add_tenant_user(&hub, &acme.id).await;
    let (_, session) = hub.login(fixtures::USER_EMAIL, fixtures::USER_PASSWORD, IP).await.unwrap();
    assert!(hub.session_user(Some(&session)).await.is_ok(), "[{n}]");
    // Only admins switch it.
    let refused = hub.set_tenant_require_two_factor(Actor::User(&user), &acme.id, true).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "[{n}]");
    let t = hub.set_tenant_require_two_factor(Actor::User(&root), &acme.id, true).await.unwrap();
    assert!(t.require_two_factor, "[{n}]");
    assert!(!hub.store.get_tenant(&globex.id).await.unwrap().unwrap().require_two_factor, "[{n}] Globex untouched");
    // Their session without a second factor ended; the password now leads to enrolment, nothing else.
    assert!(hub.session_user(Some(&session)).await.is_err(), "[{n}] the session without a second factor ended");
    let (pending, step) = password_step(&hub, fixtures::USER_EMAIL, fixtures::USER_PASSWORD).await;
    assert_eq!(step, PendingStep::Enrol, "[{n}]");
    let not_a_code_step = hub.second_factor(&pending, "123456", IP, None).await.unwrap_err();
    assert_eq!(not_a_code_step.code, ErrorCode::Unauthorized, "[{n}]");
    let e = hub.begin_two_factor_at_sign_in(&pending).await.unwrap();
    let wrong = hub.confirm_two_factor_at_sign_in(&pending, "000001", IP, None).await.unwrap_err();
    assert_eq!(wrong.code, ErrorCode::ValidationFailed, "[{n}]");
    let (codes, session) = hub.confirm_two_factor_at_sign_in(&pending, &code(&e, 0), IP, None).await.unwrap();
    assert_eq!(codes.len(), 10, "[{n}]");
    assert_eq!(hub.session_user(Some(&session)).await.unwrap().id, user.id, "[{n}] signed in once enrolled");
    let state = hub.two_factor_status(&user).await.unwrap();
    assert!(state.enabled && state.required, "[{n}] {state:?}");
    // Required: it cannot be switched off, even with the password.
    let off = hub.disable_two_factor(&user, fixtures::USER_PASSWORD, IP).await.unwrap_err();
    assert_eq!(off.code, ErrorCode::Conflict, "[{n}]");
    // An invite into the tenant does not sign in past the requirement either.
    let invited = NewInvite { email: "new@acme.test".into(), role: Role::Viewer, tenant_id: Some(acme.id.clone()) };
    let link = hub.invite_user(Actor::User(&root), invited).await.unwrap();
    assert!(link.emailed_to.is_none() && link.email_error.is_none(), "[{n}] no SMTP: nothing emailed");
    let token = link.url.rsplit_once("/accept/").unwrap().1;
    let accepted = hub.accept_user_link_signing_in(token, "viewer-password-1", IP, None).await.unwrap();
    assert!(matches!(accepted, SignIn::Pending(_, _, PendingStep::Enrol)), "[{n}] {accepted:?}");

    let t = hub.set_tenant_require_two_factor(Actor::User(&root), &acme.id, false).await.unwrap();
    assert!(!t.require_two_factor, "[{n}]");
    let (actions, _) = audit_text(&hub).await;
    for want in ["tenant.two_factor_required", "tenant.two_factor_optional", "user.two_factor_enabled"] {
        assert!(actions.iter().any(|a| a == want), "[{n}] {want}: {actions:?}");
    }
}

backend_tests!(switching_it_off_needs_proof_and_a_reset_link_does_not_pass_it);
async fn switching_it_off_needs_proof_and_a_reset_link_does_not_pass_it(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let root = hub.create_user(Actor::System, "root@hub.test", "admin-password-1", Role::Admin, None).await.unwrap();
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    let (user, _e, codes) = enrolled(&hub, &acme.id).await;
    // A reset link sets a password, not a way around the second factor.
    let reset = hub.reset_link(Actor::User(&root), &user.id).await.unwrap();
    let token = reset.url.rsplit_once("/accept/").unwrap().1;
    let accepted = hub.accept_user_link_signing_in(token, "reset-password-1", IP, None).await.unwrap();
    assert!(matches!(accepted, SignIn::Pending(_, _, PendingStep::Code)), "[{n}] {accepted:?}");

    let wrong = hub.disable_two_factor(&user, "not-my-password", IP).await.unwrap_err();
    assert_eq!(wrong.code, ErrorCode::ValidationFailed, "[{n}]");
    assert!(hub.two_factor_status(&user).await.unwrap().enabled, "[{n}] still on");
    hub.disable_two_factor(&user, &codes[5], IP).await.unwrap();
    let state = hub.two_factor_status(&user).await.unwrap();
    assert!(!state.enabled && state.recovery_codes_left == 0, "[{n}] {state:?}");
    assert!(matches!(
        hub.sign_in(fixtures::USER_EMAIL, "reset-password-1", IP, None).await.unwrap(),
        SignIn::Session(..)
    ));
    let (actions, _) = audit_text(&hub).await;
    assert!(actions.iter().any(|a| a == "user.two_factor_disabled"), "[{n}] {actions:?}");
}

backend_tests!(a_viewer_sets_up_their_own_second_factor_and_signs_in_with_it_over_http);
/// Through the server functions a browser calls: a viewer enrols, then the sign-in form answers the pending
/// cookie (no session), and the code step answers the session cookie.
async fn a_viewer_sets_up_their_own_second_factor_and_signs_in_with_it_over_http(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let acme = hub.create_tenant(Actor::System, "Acme").await.unwrap();
    hub.create_user(Actor::System, "viewer@acme.test", "viewer-password-1", Role::Viewer, Some(&acme.id))
        .await
        .unwrap();
    let (_, token) = hub.login("viewer@acme.test", "viewer-password-1", IP).await.unwrap();
    let base = common::serve(hub.clone()).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let call = |name: &'static str, cookie: String, body: serde_json::Value| {
        let req = http.post(format!("{base}/api/{name}")).header(COOKIE, cookie).header("accept", "application/json");
        async move {
            let res = req.json(&body).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let cookie = format!("hub_session={token}");
    let (status, text) = call("begin_two_factor", cookie.clone(), json!({})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    let e: TotpEnrolment = serde_json::from_str(&text).unwrap();
    let (status, text) = call("confirm_two_factor", cookie.clone(), json!({"code": code(&e, 0)})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    let codes: Vec<String> = serde_json::from_str(&text).unwrap();
    assert_eq!(codes.len(), 10, "[{n}]");

    let res = http
        .post(format!("{base}/api/login"))
        .form(&[("email", "viewer@acme.test"), ("password", "viewer-password-1"), ("next", "/account")])
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> =
        res.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(location.starts_with("/login?step=code"), "[{n}] {location} {}", res.status());
    assert!(!cookies.iter().any(|c| c.starts_with("hub_session=")), "[{n}] no session yet: {cookies:?}");
    let pending = cookies.iter().find(|c| c.starts_with("hub_2fa=")).expect("the pending cookie");
    assert!(pending.contains("HttpOnly") && pending.contains("Max-Age=300"), "[{n}] {pending}");
    let pending = pending.split(';').next().unwrap().to_string();

    let verify = |code: String| {
        http.post(format!("{base}/api/verify_second_factor"))
            .header(COOKIE, pending.clone())
            .form(&[("code", code.as_str()), ("next", "/account")])
            .send()
    };
    let res = verify("000001".into()).await.unwrap();
    assert_eq!(res.status().as_u16(), 422, "[{n}]");
    let res = verify(code(&e, 30)).await.unwrap();
    let cookies: Vec<String> =
        res.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session = cookies.iter().find(|c| c.starts_with("hub_session=")).expect("a session cookie");
    let session = session.split(';').next().unwrap().trim_start_matches("hub_session=").to_string();
    assert!(cookies.iter().any(|c| c.starts_with("hub_2fa=;")), "[{n}] the pending cookie is cleared: {cookies:?}");
    assert_eq!(hub.session_user(Some(&session)).await.unwrap().email, "viewer@acme.test", "[{n}]");
    let (status, text) = call("two_factor_status", format!("hub_session={session}"), json!({})).await;
    assert_eq!(status, 200, "[{n}] {text}");
    assert!(text.contains("\"enabled\":true"), "[{n}] {text}");
}
