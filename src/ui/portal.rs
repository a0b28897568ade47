//! The admin's "Portal link" dialog: creates a link that opens this tenant's pages (its endpoints, deliveries
//! and test-fire; no API keys, nothing of other tenants) until it expires or is revoked, and lists the links.

use super::modal::{DialogActions, Modal};
use super::style::*;
use super::time::At;
use super::toast::{on_success, use_toasts};
use super::widgets::fixed_options;
use crate::model::{NewPortalLink, Role, ShellContext};
use crate::server_fns::portal::create_portal_link;
use leptos::prelude::*;

#[component]
pub fn PortalLinkButton() -> impl IntoView {
    let ctx = expect_context::<ShellContext>();
    let admin = ctx.user.role == Role::Admin;
    let tenant = StoredValue::new(ctx.tenant.id.clone());
    let name = ctx.tenant.name.clone();
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let hours = RwSignal::new(24u64);
    let label = RwSignal::new(String::new());
    // Bumped after a link is created, so the list below shows it.
    let version = RwSignal::new(0u32);
    let create = Action::new(move |(h, l): &(u64, String)| {
        let input = NewPortalLink { label: Some(l.clone()), expires_in_seconds: h * 3600 };
        create_portal_link(tenant.get_value(), input)
    });
    on_success(create, move |_| version.update(|v| *v += 1));
    let link = move || create.value().get().and_then(|r| r.ok());
    admin.then(|| view! {
        <button type="button" class=SECONDARY_BUTTON on:click=move |_| { create.value().set(None); label.set(String::new()); open.set(true); }>"Portal link"</button>
        <Modal open=open id="portal-link" title=format!("Portal link for {name}") wide=true>
            <p class="text-sm">"Anyone with a link sees this tenant's endpoints and delivery history and can replay and test-fire, until it expires or you revoke it. API keys and other tenants are not reachable through it."</p>
            <label for="portal-label" class=format!("{LABEL} mt-4")>"Label (optional)"</label>
            <input id="portal-label" class=INPUT_CLASS maxlength="100" placeholder="Who the link is for"
                prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/>
            <label for="portal-hours" class=format!("{LABEL} mt-4")>"Valid for"</label>
            <select id="portal-hours" class=INPUT_CLASS on:change=move |ev| hours.set(event_target_value(&ev).parse().unwrap_or(24))>
                {fixed_options(&[("1", "1 hour"), ("24", "24 hours"), ("168", "7 days"), ("720", "30 days")], "24")}
            </select>
            {move || link().map(|l| {
                let url = l.url.clone();
                view! {
                    <label for="portal-url" class=format!("{LABEL} mt-4")>"Link"</label>
                    <div class="flex gap-2">
                        <input id="portal-url" readonly=true class=format!("{INPUT_CLASS} font-mono text-xs") prop:value=l.url.clone()/>
                        <button type="button" class=SECONDARY_BUTTON on:click=move |_| { super::copy_text(url.clone(), toasts, "Portal link copied"); }>"Copy"</button>
                    </div>
                    <p class="mt-1 text-xs text-slate-600 dark:text-slate-400">"Shown only now: copy it. Expires " <At ms=l.link.expires_at/> "."</p>
                }
            })}
            <DialogActions dismiss="Close" on_dismiss=move |_| open.set(false) label="Create link"
                pending=create.pending() on_action=move |_| { create.dispatch((hours.get_untracked(), label.get_untracked())); }/>
            <super::portal_links::PortalLinkList tenant_id=tenant.get_value() version=version/>
        </Modal>
    })
}
