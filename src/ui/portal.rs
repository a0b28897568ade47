//! The admin's "Portal link" dialog: a signed link that opens this tenant's pages (its endpoints, deliveries
//! and test-fire, nothing of other tenants) until it expires.

use super::modal::{DialogActions, Modal};
use super::style::*;
use super::time::absolute;
use super::toast::use_toasts;
use crate::model::{Role, ShellContext};
use crate::server_fns::shell::create_portal_link;
use leptos::prelude::*;

#[component]
pub fn PortalLinkButton() -> impl IntoView {
    let ctx = expect_context::<ShellContext>();
    let admin = ctx.user.role == Role::Admin;
    let tenant = StoredValue::new(ctx.tenant.id.clone());
    let name = ctx.tenant.name.clone();
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let hours = RwSignal::new(24u32);
    let create = Action::new(move |h: &u32| create_portal_link(tenant.get_value(), *h));
    Effect::new(move |_| {
        if let Some(Err(e)) = create.value().get() {
            toasts.error(e.message)
        }
    });
    let link = move || create.value().get().and_then(|r| r.ok());
    admin.then(|| view! {
        <button type="button" class=SECONDARY_BUTTON on:click=move |_| { create.value().set(None); open.set(true); }>"Portal link"</button>
        <Modal open=open id="portal-link" title=format!("Portal link for {name}")>
            <p class="text-sm">"Anyone with this link sees this tenant's endpoints and delivery history and can test-fire, until it expires. Nothing of other tenants is reachable through it."</p>
            <label for="portal-hours" class=format!("{LABEL} mt-4")>"Valid for"</label>
            <select id="portal-hours" class=INPUT_CLASS on:change=move |ev| hours.set(event_target_value(&ev).parse().unwrap_or(24))>
                <option value="1">"1 hour"</option>
                <option value="24" selected=true>"24 hours"</option>
                <option value="168">"7 days"</option>
            </select>
            {move || link().map(|l| {
                let url = l.url.clone();
                view! {
                    <label for="portal-url" class=format!("{LABEL} mt-4")>"Link"</label>
                    <div class="flex gap-2">
                        <input id="portal-url" readonly=true class=format!("{INPUT_CLASS} font-mono text-xs") prop:value=l.url.clone()/>
                        <button type="button" class=SECONDARY_BUTTON on:click=move |_| { super::copy_text(&url); toasts.success("Portal link copied"); }>"Copy"</button>
                    </div>
                    <p class="mt-1 text-xs text-slate-600 dark:text-slate-400">{format!("Expires {}", absolute(l.expires_at))}</p>
                }
            })}
            <DialogActions dismiss="Close" on_dismiss=move |_| open.set(false) label="Create link"
                pending=create.pending() on_action=move |_| { create.dispatch(hours.get_untracked()); }/>
        </Modal>
    })
}
