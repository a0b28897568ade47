//! Chat destinations through the delivery engine, on every backend, against local stand-ins for Slack, Discord
//! and Teams that check each request by the platform's documented rules ([`common::platforms`]): what arrives
//! is valid for the platform, cut to its limits and unable to ping anyone; the platform's answers are read by
//! its rules (a permanent error is not retried, a gone destination switches the endpoint off, a rate limit's
//! wait is kept); and chat endpoints get their platform's rate limit and the SSRF guard.

mod common;

use common::fixtures::{add_hook, settle, ticket_event};
use common::platforms::{Got, Platform, Reply};
use common::{Backend, Worker};
use integration_hub::model::{
    CreateWebhook, Delivery, DeliveryAttempt, DeliveryStatus, DestinationKind, PublishEvent, Webhook,
};
use integration_hub::server::service::{Actor, AppState};
use serde_json::{json, Value};
use std::time::Duration;

/// An endpoint of `tenant` of this kind at `url` for every `ticket.*` event, retried up to three times one
/// (scaled) second apart.
fn chat_hook(kind: DestinationKind, url: &str, tenant: &str) -> CreateWebhook {
    CreateWebhook {
        kind: Some(kind),
        url: url.to_string(),
        events: vec!["ticket.*".into()],
        tenant_id: Some(tenant.to_string()),
        max_retries: Some(3),
        retry_delay_seconds: Some(1),
        timeout_ms: Some(5_000),
        ..Default::default()
    }
}

/// A hub with a worker, tenant Acme, and one endpoint of `kind` at the stand-in.
async fn endpoint_at(
    hub: &AppState,
    platform: &Platform,
    kind: DestinationKind,
    change: impl FnOnce(&mut CreateWebhook),
) -> (String, Webhook) {
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let mut input = chat_hook(kind, &platform.url(), &t);
    change(&mut input);
    let hook = add_hook(hub, input).await;
    (t, hook)
}

/// Publishes a `ticket.created` whose comment (what the default message shows as its text) is `comment`, and
/// waits for its one delivery to settle.
async fn deliver(hub: &AppState, tenant: &str, comment: &str) -> (Delivery, Vec<DeliveryAttempt>) {
    let mut data = common::fixtures::ticket();
    data["comment"] = json!({"body": comment});
    let event = PublishEvent { data, ..ticket_event(tenant) };
    let id = hub.publish(Actor::System, event).await.unwrap().id;
    let d = settle(hub, &id).await.remove(0);
    let attempts = hub.store.attempts_for(&d.id).await.unwrap();
    (d, attempts)
}

/// The one request the stand-in received, checked to keep the platform's rules.
fn only_request(platform: &Platform, n: &str) -> Got {
    let got = platform.received();
    assert_eq!(got.len(), 1, "[{n}] one request: {got:?}");
    assert!(got[0].problems.is_empty(), "[{n}] the platform's rules were broken: {:?}", got[0].problems);
    got[0].clone()
}

fn blocks_of<'a>(body: &'a Value, kind: &str) -> Vec<&'a Value> {
    body["blocks"].as_array().unwrap().iter().filter(|b| b["type"] == kind).collect()
}

backend_tests!(a_slack_message_arrives_as_block_kit_and_succeeds);
async fn a_slack_message_arrives_as_block_kit_and_succeeds(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let slack = Platform::slack().await;
    let (t, _) = endpoint_at(&hub, &slack, DestinationKind::Slack, |_| {}).await;
    let (d, _) = deliver(&hub, &t, "Smoke is coming out of tray 2").await;
    assert_eq!((d.status, d.attempts, d.last_status_code), (DeliveryStatus::Success, 1, Some(200)), "[{n}] {d:?}");
    let got = only_request(&slack, n);
    assert_eq!(got.headers["content-type"], "application/json", "[{n}]");
    assert!(!got.headers.contains_key("webhook-signature"), "[{n}] a chat message is not a signed webhook");
    let header = blocks_of(&got.body, "header");
    assert!(header[0]["text"]["text"].as_str().unwrap().contains("Printer on fire"), "[{n}] {}", got.body);
    let sections = blocks_of(&got.body, "section");
    assert_eq!(sections[0]["text"]["text"], "Smoke is coming out of tray 2", "[{n}]");
    let fields: Vec<&str> =
        sections[1]["fields"].as_array().unwrap().iter().map(|f| f["text"].as_str().unwrap()).collect();
    assert!(fields.contains(&"*Priority*\nhigh"), "[{n}] {fields:?}");
    assert!(got.body["text"].as_str().unwrap().contains("Printer on fire"), "[{n}] the notification names the ticket");
    worker.stop().await;
}

backend_tests!(long_or_hostile_slack_text_arrives_cut_and_escaped);
async fn long_or_hostile_slack_text_arrives_cut_and_escaped(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let slack = Platform::slack().await;
    let (t, _) = endpoint_at(&hub, &slack, DestinationKind::Slack, |_| {}).await;
    let comment = format!("<!channel> see <https://evil.example|your invoice> & {}", "x".repeat(5_000));
    let (d, _) = deliver(&hub, &t, &comment).await;
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Success, 1), "[{n}] accepted as sent: {d:?}");
    let got = only_request(&slack, n);
    let text = blocks_of(&got.body, "section")[0]["text"]["text"].as_str().unwrap().to_string();
    assert!(text.chars().count() <= 3_000 && text.ends_with('…'), "[{n}] {} characters", text.chars().count());
    assert!(
        text.starts_with("&lt;!channel&gt; see &lt;https://evil.example|your invoice&gt; &amp; xxx"),
        "[{n}] {text:.80}"
    );
    assert!(!got.raw.contains("<!channel>") && !got.raw.contains("<https://evil"), "[{n}] markup got through");
    worker.stop().await;
}

backend_tests!(discord_mentions_in_the_text_ping_nobody);
async fn discord_mentions_in_the_text_ping_nobody(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let discord = Platform::discord().await;
    let (t, _) = endpoint_at(&hub, &discord, DestinationKind::Discord, |_| {}).await;
    let (d, _) = deliver(&hub, &t, "@everyone the printer is on fire").await;
    assert_eq!((d.status, d.last_status_code), (DeliveryStatus::Success, Some(204)), "[{n}] {d:?}");
    let got = only_request(&discord, n);
    assert_eq!(got.body["allowed_mentions"]["parse"], json!([]), "[{n}] {}", got.body);
    let embed = &got.body["embeds"][0];
    assert_eq!(embed["description"], "@everyone the printer is on fire", "[{n}]");
    assert!(embed["title"].as_str().unwrap().contains("Printer on fire"), "[{n}]");
    worker.stop().await;
}

backend_tests!(an_archived_slack_channel_fails_once_and_switches_the_endpoint_off);
async fn an_archived_slack_channel_fails_once_and_switches_the_endpoint_off(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let slack = Platform::slack().await;
    slack.answer_next(5, Reply::slack_error(410, "channel_is_archived"));
    let (t, hook) = endpoint_at(&hub, &slack, DestinationKind::Slack, |_| {}).await;
    let (d, attempts) = deliver(&hub, &t, "hello").await;
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 1), "[{n}] not retried: {d:?}");
    assert_eq!(slack.received().len(), 1, "[{n}]");
    let reason = "Slack: the channel is archived (channel_is_archived)";
    assert_eq!(attempts[0].error.as_deref(), Some(reason), "[{n}] the log says why");
    let w = hub.get_webhook(&Actor::System, &hook.id).await.unwrap();
    assert!(!w.is_active, "[{n}] switched off");
    assert_eq!(w.disabled_reason.as_deref(), Some(reason), "[{n}]");
    worker.stop().await;
}

backend_tests!(a_deleted_discord_webhook_switches_the_endpoint_off);
async fn a_deleted_discord_webhook_switches_the_endpoint_off(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let discord = Platform::discord().await;
    discord.answer_next(5, Reply::json(404, json!({"message": "Unknown Webhook", "code": 10015})));
    let (t, hook) = endpoint_at(&hub, &discord, DestinationKind::Discord, |_| {}).await;
    let (d, _) = deliver(&hub, &t, "hello").await;
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 1), "[{n}] {d:?}");
    let w = hub.get_webhook(&Actor::System, &hook.id).await.unwrap();
    assert!(!w.is_active, "[{n}]");
    assert_eq!(w.disabled_reason.as_deref(), Some("Discord: unknown webhook (it was deleted)"), "[{n}]");
    worker.stop().await;
}

backend_tests!(a_refused_slack_message_fails_once_and_the_endpoint_stays_on);
async fn a_refused_slack_message_fails_once_and_the_endpoint_stays_on(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let slack = Platform::slack().await;
    slack.answer_next(5, Reply::slack_error(400, "invalid_payload"));
    let (t, hook) = endpoint_at(&hub, &slack, DestinationKind::Slack, |_| {}).await;
    let (d, attempts) = deliver(&hub, &t, "hello").await;
    assert_eq!((d.status, d.attempts, d.last_status_code), (DeliveryStatus::Failed, 1, Some(400)), "[{n}] {d:?}");
    assert_eq!(slack.received().len(), 1, "[{n}] not retried");
    assert_eq!(attempts[0].error.as_deref(), Some("Slack refused the message: invalid_payload"), "[{n}]");
    let w = hub.get_webhook(&Actor::System, &hook.id).await.unwrap();
    assert!(w.is_active && w.disabled_reason.is_none(), "[{n}] one bad message does not switch the endpoint off");
    worker.stop().await;
}

backend_tests!(discords_retry_after_decides_when_a_429_is_retried);
async fn discords_retry_after_decides_when_a_429_is_retried(b: Backend) {
    let n = b.name;
    // Real time: the platform's wait is not shrunk as the tests' retry schedule is.
    let hub = common::hub_configured(&b, |c| c.serve.retry_time_scale = 1.0).await;
    let worker = Worker::start(&hub);
    let discord = Platform::discord().await;
    // Discord's exact wait (2.5 s, so 3 whole seconds) is longer than its Retry-After header says.
    let limited =
        Reply::json(429, json!({"message": "You are being rate limited.", "retry_after": 2.5, "global": false}))
            .header("retry-after", "1");
    discord.answer_next(1, limited);
    let (t, _) = endpoint_at(&hub, &discord, DestinationKind::Discord, |_| {}).await;
    let (d, attempts) = deliver(&hub, &t, "hello").await;
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Success, 2), "[{n}] retried, then delivered: {d:?}");
    let planned = attempts[0].next_retry_at.unwrap() - attempts[0].created_at;
    assert!(planned >= 3_000, "[{n}] the retry was planned {planned} ms after the first attempt");
    let got = discord.received();
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(2_950), "[{n}] the second attempt came {gap:?} after the first");
    worker.stop().await;
}

backend_tests!(a_spent_discord_budget_holds_the_next_message_until_it_resets);
async fn a_spent_discord_budget_holds_the_next_message_until_it_resets(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let discord = Platform::discord().await;
    discord.answer_next(
        1,
        Reply::new(204, "").header("x-ratelimit-remaining", "0").header("x-ratelimit-reset-after", "1.5"),
    );
    // No limit of the hub's own, so only Discord's word holds the second message back.
    let (t, _) = endpoint_at(&hub, &discord, DestinationKind::Discord, |h| h.rate_limit_per_minute = Some(0)).await;
    let (first, _) = deliver(&hub, &t, "one").await;
    let (second, _) = deliver(&hub, &t, "two").await;
    assert_eq!((first.status, second.status), (DeliveryStatus::Success, DeliveryStatus::Success), "[{n}]");
    let got = discord.received();
    assert_eq!(got.len(), 2, "[{n}]");
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(1_500), "[{n}] the second message came {gap:?} after the first");
    worker.stop().await;
}

backend_tests!(a_teams_card_is_accepted_and_stays_within_28_kb);
async fn a_teams_card_is_accepted_and_stays_within_28_kb(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let worker = Worker::start(&hub);
    let teams = Platform::teams().await;
    let (t, _) = endpoint_at(&hub, &teams, DestinationKind::Teams, |_| {}).await;
    let (d, _) = deliver(&hub, &t, &"Ünïcödé \"quoted\" ".repeat(4_000)).await;
    assert_eq!((d.status, d.last_status_code), (DeliveryStatus::Success, Some(202)), "[{n}] {d:?}");
    let got = only_request(&teams, n);
    assert!(got.raw.len() <= 28 * 1024, "[{n}] {} bytes", got.raw.len());
    let card = &got.body["attachments"][0]["content"];
    assert!(card["body"][0]["text"].as_str().unwrap().contains("Printer on fire"), "[{n}] {card}");
    assert!(card["body"][1]["text"].as_str().unwrap().ends_with('…'), "[{n}] the text was cut");
    assert!(card["body"][2]["facts"].as_array().is_some_and(|f| !f.is_empty()), "[{n}] the facts were kept");
    worker.stop().await;
}

backend_tests!(chat_endpoints_get_their_platforms_rate_limit_unless_given);
async fn chat_endpoints_get_their_platforms_rate_limit_unless_given(b: Backend) {
    let n = b.name;
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    let url = "http://127.0.0.1:9/hook";
    for (kind, expected) in
        [(DestinationKind::Slack, 60), (DestinationKind::Discord, 30), (DestinationKind::Teams, 240)]
    {
        let w = add_hook(&hub, chat_hook(kind, url, &t)).await;
        assert_eq!(w.rate_limit_per_minute, expected, "[{n}] {kind:?}");
    }
    for given in [5, 0] {
        let input = CreateWebhook { rate_limit_per_minute: Some(given), ..chat_hook(DestinationKind::Slack, url, &t) };
        assert_eq!(add_hook(&hub, input).await.rate_limit_per_minute, given, "[{n}] as given");
    }
    let webhook = CreateWebhook { kind: None, ..chat_hook(DestinationKind::Slack, url, &t) };
    assert_eq!(add_hook(&hub, webhook).await.rate_limit_per_minute, 0, "[{n}] a plain webhook has none");
}

backend_tests!(a_chat_endpoint_on_a_private_address_is_refused);
async fn a_chat_endpoint_on_a_private_address_is_refused(b: Backend) {
    let n = b.name;
    // The test config allows 127.0.0.1 (the stand-ins) and nothing else private.
    let hub = common::hub(&b).await;
    let t = hub.create_tenant(Actor::System, "Acme").await.unwrap().id;
    for kind in [DestinationKind::Slack, DestinationKind::Discord, DestinationKind::Teams] {
        for url in
            ["http://10.0.0.5/services/T/B/X", "http://169.254.169.254/latest/meta-data", "http://[::1]:8080/hook"]
        {
            let e = hub.create_webhook(Actor::System, chat_hook(kind, url, &t)).await.unwrap_err();
            assert_eq!(e.fields.first().map(|f| f.field.as_str()), Some("url"), "[{n}] {kind:?} {url}: {e:?}");
        }
    }
}
