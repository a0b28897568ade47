//! The connected-apps test infrastructure checked on its own (no hub): the OAuth server really enforces PKCE,
//! issues and honours refresh tokens and refuses a revoked one; the provider stand-ins refuse what the real APIs
//! refuse (a malformed body, an expired or unknown token) and accept what they accept. The hub's tests
//! (tests/apps_*.rs) rely on both: a stand-in that accepted anything would let a wrong request pass.

mod common;

use common::oauth::{ClientAuth, ClientReg, OAuthServer, Pkce};
use common::providers::{subscriber_hash, Provider, ProviderStandIn};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const CALLBACK: &str = "http://127.0.0.1:9/oauth/callback";

fn client() -> ClientReg {
    ClientReg::new("hub-test-client", "hub-test-secret", CALLBACK)
}

/// A code is only exchanged with the verifier its challenge was made from, and only once; an authorisation
/// request without a challenge is refused at the redirect.
#[test]
fn pkce_is_enforced() {
    common::run(async {
        let c = client();
        let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
        let pkce = Pkce::new();
        let (code, state) = oauth.follow_authorize(&oauth.authorize_url_for(&c, "calendar", "st-1", &pkce)).await;
        assert_eq!(state, "st-1");

        let wrong = oauth.exchange_code(&c, &code, &Pkce::new().verifier).await.unwrap_err();
        assert_eq!((wrong.status, wrong.error.as_str()), (400, "invalid_grant"), "{wrong:?}");

        let tokens = oauth.exchange_code(&c, &code, &pkce.verifier).await.expect("the right verifier");
        assert_eq!(tokens.scope.as_deref(), Some("calendar"));
        assert!(tokens.refresh_token.is_some(), "a refresh token with the authorization code");
        let claims = oauth.introspect(&tokens.access_token).await.expect("the access token is active");
        assert_eq!(claims.client_id.as_deref(), Some("hub-test-client"));
        assert_eq!(claims.sub.as_deref(), Some("test-user"));

        let again = oauth.exchange_code(&c, &code, &pkce.verifier).await.unwrap_err();
        assert_eq!(again.error, "invalid_grant", "a code is single-use: {again:?}");

        let mut no_challenge = url::Url::parse(&oauth.authorize_url_for(&c, "calendar", "st-2", &pkce)).unwrap();
        let kept: Vec<(String, String)> =
            no_challenge.query_pairs().into_owned().filter(|(k, _)| !k.starts_with("code_challenge")).collect();
        no_challenge.query_pairs_mut().clear().extend_pairs(kept);
        let redirect = oauth.follow_to_redirect(no_challenge.as_str()).await;
        assert!(redirect.as_str().starts_with(CALLBACK), "{redirect}");
        assert!(redirect.query_pairs().any(|(k, v)| k == "error" && v == "invalid_request"), "{redirect}");
    });
}

/// An access token expires after the TTL set; the refresh token then gets a fresh one (and stays valid, as
/// Google's do); a client registered to rotate gets a new refresh token and the used one is refused.
#[test]
fn refresh_renews_an_expired_access_token() {
    common::run(async {
        let c = client();
        let rotating = ClientReg::new("rotating", "rotating-secret", CALLBACK).auth(ClientAuth::Post).rotating();
        let oauth = OAuthServer::start(&[c.clone(), rotating.clone()]).await;
        oauth.set_access_ttl(1).await;
        let first = oauth.connect(&c, "calendar").await;
        assert_eq!(first.expires_in, Some(1));
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(oauth.introspect(&first.access_token).await.is_none(), "expired after its TTL");

        let refresh = first.refresh_token.clone().unwrap();
        let second = oauth.refresh(&c, &refresh).await.expect("refresh");
        assert_ne!(second.access_token, first.access_token);
        assert!(oauth.introspect(&second.access_token).await.is_some());
        oauth.refresh(&c, &refresh).await.expect("a refresh token that does not rotate stays valid");

        let r1 = oauth.connect(&rotating, "contacts").await.refresh_token.unwrap();
        let r2 = oauth.refresh(&rotating, &r1).await.expect("refresh").refresh_token.unwrap();
        assert_ne!(r1, r2, "a rotating client gets a new refresh token");
        assert_eq!(oauth.refresh(&rotating, &r1).await.unwrap_err().error, "invalid_grant");

        let wrong_secret = ClientReg { client_secret: "nope".into(), ..c.clone() };
        assert_eq!(oauth.refresh(&wrong_secret, &refresh).await.unwrap_err().error, "invalid_client");
    });
}

/// A grant the user ended at the provider (or the client revoked, RFC 7009) refuses its refresh token with
/// invalid_grant, and its access tokens are no longer active.
#[test]
fn revoked_refresh_token_is_refused() {
    common::run(async {
        let c = client();
        let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
        let tokens = oauth.connect(&c, "calendar").await;
        let refresh = tokens.refresh_token.clone().unwrap();
        assert!(oauth.revoke_refresh_token(&refresh).await);
        let refused = oauth.refresh(&c, &refresh).await.unwrap_err();
        assert_eq!((refused.status, refused.error.as_str()), (400, "invalid_grant"), "{refused:?}");
        assert!(oauth.introspect(&tokens.access_token).await.is_none(), "the grant's access token ended too");

        // The client's own revocation at the RFC 7009 endpoint.
        let other = oauth.connect(&c, "calendar").await;
        let answer = reqwest::Client::new()
            .post(oauth.revoke_url())
            .basic_auth(&c.client_id, Some(&c.client_secret))
            .form(&[("token", other.refresh_token.as_deref().unwrap()), ("token_type_hint", "refresh_token")])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(
            oauth.refresh(&c, other.refresh_token.as_deref().unwrap()).await.unwrap_err().error,
            "invalid_grant"
        );
        assert!(oauth.introspect(&other.access_token).await.is_none());
    });
}

/// A user who clicks "Cancel" sends the browser back with error=access_denied and the state.
#[test]
fn denied_consent_redirects_with_access_denied() {
    common::run(async {
        let c = client();
        let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
        oauth.deny_next().await;
        let redirect = oauth.follow_to_redirect(&oauth.authorize_url_for(&c, "calendar", "st-9", &Pkce::new())).await;
        let q: std::collections::HashMap<String, String> = redirect.query_pairs().into_owned().collect();
        assert_eq!(q.get("error").map(String::as_str), Some("access_denied"), "{redirect}");
        assert_eq!(q.get("state").map(String::as_str), Some("st-9"));
        // Only the next one.
        oauth.connect(&c, "calendar").await;
    });
}

/// One provider's create call: a well-formed body it accepts with `created`, a malformed one it refuses with
/// 400 and words that say why.
struct Case {
    provider: Provider,
    method: Method,
    path: &'static str,
    good: Value,
    bad: Value,
    created: u16,
    refusal: &'static str,
}

fn cases() -> Vec<Case> {
    let hash = subscriber_hash("Ada@Example.com");
    vec![
        Case {
            provider: Provider::GoogleCalendar,
            method: Method::POST,
            path: "/calendar/v3/calendars/primary/events",
            good: json!({"summary": "Launch", "start": {"dateTime": "2027-03-01T10:00:00Z"},
                         "end": {"dateTime": "2027-03-01T11:00:00+00:00"}, "attendees": [{"email": "ada@example.com"}]}),
            bad: json!({"summary": "Launch", "start": {"dateTime": "2027-03-01 10:00"}, "end": {"dateTime": "2027-03-01T11:00:00Z"}}),
            created: 200,
            refusal: "RFC 3339",
        },
        Case {
            provider: Provider::Outlook,
            method: Method::POST,
            path: "/v1.0/me/events",
            good: json!({"subject": "Launch", "body": {"contentType": "HTML", "content": "<p>Hi</p>"},
                         "start": {"dateTime": "2027-03-01T10:00:00", "timeZone": "UTC"},
                         "end": {"dateTime": "2027-03-01T11:00:00", "timeZone": "UTC"},
                         "attendees": [{"emailAddress": {"address": "ada@example.com"}, "type": "required"}]}),
            bad: json!({"subject": "Launch", "start": {"dateTime": "2027-03-01T10:00:00"},
                        "end": {"dateTime": "2027-03-01T11:00:00", "timeZone": "UTC"}}),
            created: 201,
            refusal: "start.timeZone",
        },
        Case {
            provider: Provider::Zoom,
            method: Method::POST,
            path: "/v2/users/me/meetings",
            good: json!({"topic": "Launch", "type": 2, "start_time": "2027-03-01T10:00:00Z", "duration": 60, "timezone": "UTC"}),
            bad: json!({"topic": "Launch", "type": 2, "start_time": "2027-03-01T10:00:00Z", "duration": "60"}),
            created: 201,
            refusal: "duration",
        },
        Case {
            provider: Provider::HubSpot,
            method: Method::POST,
            path: "/crm/v3/objects/contacts/batch/upsert",
            good: json!({"inputs": [{"idProperty": "email", "id": "ada@example.com",
                                      "properties": {"email": "ada@example.com", "firstname": "Ada"}}]}),
            bad: json!({"inputs": [{"id": "ada@example.com", "properties": {"email": "ada@example.com"}}]}),
            created: 200,
            refusal: "idProperty",
        },
        Case {
            provider: Provider::Salesforce,
            method: Method::PATCH,
            path: "/services/data/v60.0/sobjects/Contact/Email/ada%40example.com",
            good: json!({"LastName": "Lovelace", "FirstName": "Ada", "Email": "ada@example.com"}),
            bad: json!({"FirstName": "Ada", "Email": "ada@example.com"}),
            created: 201,
            refusal: "REQUIRED_FIELD_MISSING",
        },
        Case {
            provider: Provider::Mailchimp,
            method: Method::PUT,
            path: Box::leak(format!("/3.0/lists/list1/members/{hash}").into_boxed_str()),
            good: json!({"email_address": "Ada@Example.com", "status_if_new": "subscribed",
                         "merge_fields": {"FNAME": "Ada", "LNAME": "Lovelace"}}),
            bad: json!({"email_address": "grace@example.com", "status_if_new": "subscribed"}),
            created: 200,
            refusal: "MD5",
        },
    ]
}

/// An authorised client of one stand-in: the hub's side of the wire.
struct Caller {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Caller {
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.expect("the stand-in answers");
        let (status, headers) = (answer.status().as_u16(), answer.headers().clone());
        let text = answer.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn caller(oauth: &OAuthServer, standin: &ProviderStandIn) -> Caller {
    let tokens = oauth.connect(&client(), "api").await;
    Caller { http: reqwest::Client::new(), base: standin.base().to_string(), token: tokens.access_token }
}

/// Each stand-in accepts its provider's well-formed create call and refuses a malformed one with a 400 in the
/// provider's error shape, an expired token with a 401, and a call without a token; it records every call.
#[test]
fn standins_refuse_malformed_bodies_and_expired_tokens() {
    common::run(async {
        let c = client();
        let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
        for case in cases() {
            let p = case.provider.id();
            let standin = ProviderStandIn::start(case.provider, &oauth).await;
            let api = caller(&oauth, &standin).await;

            let (status, _, body) = api.send(case.method.clone(), case.path, Some(&case.bad)).await;
            assert_eq!(status, 400, "{p}: {body}");
            assert!(body.to_string().contains(case.refusal), "{p}: the refusal says why: {body}");
            assert_error_shape(case.provider, &body, 400);

            let (status, _, body) = api.send(case.method.clone(), case.path, Some(&case.good)).await;
            assert_eq!(status, case.created, "{p}: {body}");

            let anonymous = Caller { token: "not-a-token".into(), ..api };
            let (status, headers, body) = anonymous.send(case.method.clone(), case.path, Some(&case.good)).await;
            assert_eq!(status, 401, "{p}: {body}");
            assert_error_shape(case.provider, &body, 401);
            if matches!(case.provider, Provider::GoogleCalendar | Provider::Outlook) {
                assert!(headers.get("www-authenticate").is_some(), "{p}: a bearer challenge");
            }

            let calls = standin.calls();
            let statuses: Vec<u16> = calls.iter().map(|c| c.status).collect();
            assert_eq!(statuses, vec![400, case.created, 401], "{p}: every call is recorded");
            assert_eq!(calls[1].body, case.good, "{p}: with its body");
            assert_eq!((calls[1].method.as_str(), calls[1].path.as_str()), (case.method.as_str(), case.path));
        }

        // An access token past its lifetime is refused like an unknown one.
        oauth.set_access_ttl(1).await;
        let standin = ProviderStandIn::start(Provider::Zoom, &oauth).await;
        let api = caller(&oauth, &standin).await;
        let case = cases().into_iter().find(|c| c.provider == Provider::Zoom).unwrap();
        assert_eq!(api.send(Method::POST, case.path, Some(&case.good)).await.0, 201, "fresh");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (status, _, body) = api.send(Method::POST, case.path, Some(&case.good)).await;
        assert_eq!((status, body["code"].as_i64()), (401, Some(124)), "expired: {body}");
    });
}

/// The error shape each provider documents.
fn assert_error_shape(provider: Provider, body: &Value, status: u16) {
    let ok = match provider {
        Provider::GoogleCalendar => body["error"]["code"] == status && body["error"]["errors"].is_array(),
        Provider::Outlook => body["error"]["code"].is_string() && body["error"]["message"].is_string(),
        Provider::Zoom => body["code"].is_number() && body["message"].is_string(),
        Provider::HubSpot => body["status"] == "error" && body["category"].is_string(),
        Provider::Salesforce => body[0]["errorCode"].is_string() && body[0]["message"].is_string(),
        Provider::Mailchimp => body["status"] == status && body["title"].is_string() && body["detail"].is_string(),
    };
    assert!(ok, "{}: not its error shape: {body}", provider.id());
}

/// The stand-ins keep what was created: an update or delete of an unknown id is a 404, a deleted Google event
/// is a 410, a second upsert of a contact is an update (HubSpot new:false, Salesforce 204), a Mailchimp tag
/// needs the member; and `fail_next` answers 429 with Retry-After, then 500, before the real answer.
#[test]
fn standins_keep_state_and_fail_on_request() {
    common::run(async {
        let c = client();
        let oauth = OAuthServer::start(std::slice::from_ref(&c)).await;
        let all = cases();
        let case = |p: Provider| all.iter().find(|c| c.provider == p).unwrap();

        let google = ProviderStandIn::start(Provider::GoogleCalendar, &oauth).await;
        let api = caller(&oauth, &google).await;
        let good = &case(Provider::GoogleCalendar).good;
        let (_, _, event) = api.send(Method::POST, "/calendar/v3/calendars/primary/events", Some(good)).await;
        let id = event["id"].as_str().unwrap().to_string();
        assert_eq!(event["status"], "confirmed");
        assert!(event["htmlLink"].is_string());
        let at = format!("/calendar/v3/calendars/primary/events/{id}");
        let patch = json!({"summary": "Launch (moved)"});
        assert_eq!(api.send(Method::PATCH, &at, Some(&patch)).await.0, 200);
        assert_eq!(api.send(Method::PATCH, "/calendar/v3/calendars/primary/events/nope", Some(&patch)).await.0, 404);
        assert_eq!(
            api.send(Method::PATCH, &format!("/calendar/v3/calendars/other/events/{id}"), Some(&patch)).await.0,
            404
        );
        let backwards = json!({"end": {"dateTime": "2027-03-01T09:00:00Z"}});
        assert_eq!(api.send(Method::PATCH, &at, Some(&backwards)).await.0, 400, "end before start");
        assert_eq!(api.send(Method::DELETE, &at, None).await.0, 204);
        assert_eq!(api.send(Method::DELETE, &at, None).await.0, 410);
        assert_eq!(google.objects("event").len(), 0);

        let hubspot = ProviderStandIn::start(Provider::HubSpot, &oauth).await;
        let api = caller(&oauth, &hubspot).await;
        let path = "/crm/v3/objects/contacts/batch/upsert";
        let good = &case(Provider::HubSpot).good;
        let (_, _, first) = api.send(Method::POST, path, Some(good)).await;
        let (_, _, second) = api.send(Method::POST, path, Some(good)).await;
        assert_eq!(
            (first["results"][0]["new"].clone(), second["results"][0]["new"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(first["status"], "COMPLETE");
        assert_eq!(first["results"][0]["id"], second["results"][0]["id"]);
        let deal = json!({"properties": {"dealname": "Ada — Launch", "amount": "49.00", "pipeline": "default", "dealstage": "closedwon"}});
        assert_eq!(api.send(Method::POST, "/crm/v3/objects/deals", Some(&deal)).await.0, 201);
        let number =
            json!({"properties": {"dealname": "x", "amount": 49, "pipeline": "default", "dealstage": "closedwon"}});
        assert_eq!(api.send(Method::POST, "/crm/v3/objects/deals", Some(&number)).await.0, 400, "amount is a string");

        let salesforce = ProviderStandIn::start(Provider::Salesforce, &oauth).await;
        let api = caller(&oauth, &salesforce).await;
        let sf = case(Provider::Salesforce);
        let (status, _, created) = api.send(Method::PATCH, sf.path, Some(&sf.good)).await;
        assert_eq!((status, created["created"].clone()), (201, json!(true)));
        assert_eq!(api.send(Method::PATCH, sf.path, Some(&sf.bad)).await.0, 204, "LastName is not needed to update");
        let unknown = json!({"LastName": "L", "Company": "Acme"});
        let (status, _, body) = api.send(Method::PATCH, sf.path, Some(&unknown)).await;
        assert_eq!((status, body[0]["errorCode"].as_str()), (400, Some("INVALID_FIELD")), "{body}");
        let opportunity =
            json!({"Name": "Ada — Launch", "StageName": "Closed Won", "CloseDate": "2027-03-01", "Amount": 49.0});
        assert_eq!(
            api.send(Method::POST, "/services/data/v60.0/sobjects/Opportunity", Some(&opportunity)).await.0,
            201
        );

        let mailchimp = ProviderStandIn::start(Provider::Mailchimp, &oauth).await;
        let api = caller(&oauth, &mailchimp).await;
        let mc = case(Provider::Mailchimp);
        let tags = json!({"tags": [{"name": "attendee", "status": "active"}]});
        let (status, headers, _) = api.send(Method::POST, &format!("{}/tags", mc.path), Some(&tags)).await;
        assert_eq!(status, 404, "no member yet");
        assert_eq!(headers["content-type"], "application/problem+json");
        let (_, _, member) = api.send(Method::PUT, mc.path, Some(&mc.good)).await;
        assert_eq!(
            (member["status"].as_str(), member["id"].as_str()),
            (Some("subscribed"), Some(subscriber_hash("ada@example.com").as_str()))
        );
        assert_eq!(api.send(Method::POST, &format!("{}/tags", mc.path), Some(&tags)).await.0, 204);
        assert_eq!(mailchimp.objects("member")[0]["tags"], json!(["attendee"]));

        let zoom = ProviderStandIn::start(Provider::Zoom, &oauth).await;
        let api = caller(&oauth, &zoom).await;
        let good = &case(Provider::Zoom).good;
        zoom.fail_next(429, 1, Some(3));
        zoom.fail_next(500, 1, None);
        let (status, headers, body) = api.send(Method::POST, "/v2/users/me/meetings", Some(good)).await;
        assert_eq!((status, headers.get("retry-after").map(|v| v.to_str().unwrap())), (429, Some("3")), "{body}");
        assert_eq!(api.send(Method::POST, "/v2/users/me/meetings", Some(good)).await.0, 500);
        let (status, _, meeting) = api.send(Method::POST, "/v2/users/me/meetings", Some(good)).await;
        assert_eq!(status, 201);
        assert!(meeting["id"].is_u64() && meeting["join_url"].as_str().is_some_and(|u| u.starts_with("https://")));
        assert_eq!(zoom.objects("meeting").len(), 1, "the failed calls created nothing");
        let at = format!("/v2/meetings/{}", meeting["id"]);
        assert_eq!(api.send(Method::PATCH, &at, Some(&json!({"duration": 90}))).await.0, 204);
        assert_eq!(api.send(Method::DELETE, &at, None).await.0, 204);
        assert_eq!(api.send(Method::DELETE, &at, None).await.0, 404);
    });
}

/// Mailchimp's subscriber hash is the MD5 of the lower-cased address (the example in Mailchimp's docs).
#[test]
fn subscriber_hash_is_md5_of_the_lower_cased_address() {
    assert_eq!(subscriber_hash("Urist.McVankab@freddiesjokes.com"), "62eeb292278cc15f5817cb78f7790b08");
    assert_eq!(subscriber_hash(""), "d41d8cd98f00b204e9800998ecf8427e");
}
