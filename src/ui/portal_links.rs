//! The tenant's portal links inside the admin's "Portal link" dialog: who made each, when it expires, when it
//! was last used, and a Revoke button (the link stops opening and the sessions it opened end).

use super::style::*;
use super::time::{now_ms, Ago, At};
use super::toast::{on_success, use_toasts};
use crate::model::PortalLink;
use crate::server_fns::portal::{list_portal_links, revoke_portal_link};
use leptos::prelude::*;

/// What a link's row says about it, and the badge tone.
pub fn link_state(l: &PortalLink, now: i64) -> (&'static str, &'static str) {
    match (l.revoked_at, l.expires_at > now) {
        (Some(_), _) => ("Revoked", "red"),
        (None, false) => ("Expired", "gray"),
        (None, true) => ("Active", "green"),
    }
}

/// The list; `version` changes when a link was created elsewhere in the dialog, and is bumped after a revoke.
#[component]
pub fn PortalLinkList(#[prop(into)] tenant_id: String, version: RwSignal<u32>) -> impl IntoView {
    let tenant = StoredValue::new(tenant_id);
    let toasts = use_toasts();
    let links = Resource::new(move || (tenant.get_value(), version.get()), |(t, _)| list_portal_links(t));
    let revoke = Action::new(move |id: &String| revoke_portal_link(tenant.get_value(), id.clone()));
    on_success(revoke, move |l| {
        toasts.success(format!("Revoked “{}”", l.label.unwrap_or_else(|| "portal link".into())));
        version.update(|v| *v += 1);
    });
    view! {
        <h3 class="mt-6 text-base font-semibold">"Links"</h3>
        <Transition fallback=|| view! { <p class="mt-2 text-sm">"Loading links…"</p> }>
            {move || links.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-2 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">"No portal links yet."</p> }.into_any(),
                Ok(list) => {
                    let now = now_ms();
                    view! {
                        <ul class="mt-2 divide-y divide-slate-200 dark:divide-slate-800">
                            {list.into_iter().map(|l| {
                                let (state, tone) = link_state(&l, now);
                                let name = l.label.clone().unwrap_or_else(|| "Unlabelled".into());
                                let by = l.created_by_email.clone().unwrap_or_else(|| l.created_by.clone());
                                let id = l.id.clone();
                                let active = state == "Active";
                                                                view! {
                                    <li class="flex items-start justify-between gap-3 py-3" data-testid="portal-link-row">
                                        <div class="min-w-0 text-sm">
                                            <p class="flex items-center gap-2 font-medium">
                                                <span class="truncate">{name.clone()}</span>
                                                <span class=badge(tone)>{state}</span>
                                            </p>
                                            <p class="text-xs text-slate-600 dark:text-slate-400">
                                                {format!("Created by {by} ")}<Ago ms=l.created_at/>
                                            </p>
                                            <p class="text-xs text-slate-600 dark:text-slate-400">
                                                {if active { view! { "Expires " <Ago ms=l.expires_at/> }.into_any() } else { view! { "Expiry " <At ms=l.expires_at/> }.into_any() }}
                                                {l.last_used_at.map(|u| view! { " · last used " <Ago ms=u/> })}
                                            </p>
                                        </div>
                                        {active.then(|| view! {
                                            <button type="button" class=SECONDARY_BUTTON aria-label=format!("Revoke {name}")
                                                disabled=move || revoke.pending().get()
                                                on:click=move |_| { revoke.dispatch(id.clone()); }>"Revoke"</button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        let l = PortalLink {
            id: "ptl_1".into(),
            tenant_id: "ten_1".into(),
            label: None,
            created_by: "usr_1".into(),
            created_by_email: None,
            created_at: 0,
            expires_at: 100,
            revoked_at: None,
            last_used_at: None,
        };
        assert_eq!(link_state(&l, 50).0, "Active");
        assert_eq!(link_state(&l, 100).0, "Expired");
        assert_eq!(link_state(&PortalLink { revoked_at: Some(10), ..l }, 50).0, "Revoked");
    }
}
