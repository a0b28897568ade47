//! People: the Users page (admins see everyone, a tenant's managers their own tenant's people), invites and
//! reset links shown once with a copy button, the Account page (own password and sessions) and the page a
//! one-time link opens, where the password is chosen.

use super::login::{EnrolForm, RecoveryCodes};
use super::modal::Modal;
use super::style::*;
use super::time::{Ago, At};
use super::toast::{on_success, use_toasts};
use super::widgets::{CardTable, Column};
use crate::model::{AppError, IssuedUserLink, NewInvite, Person, Role, ShellContext};
use crate::server_fns::people::{
    accept_user_link, begin_two_factor, change_own_password, confirm_two_factor, disable_two_factor,
    end_other_sessions, invite_user, list_people, own_sessions, read_user_link, regenerate_recovery_codes,
    reset_user_link, set_user_active, set_user_role, two_factor_status,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// Whether the signed-in user manages people: admins and a tenant's managers.
pub fn manages_people(ctx: &ShellContext) -> bool {
    matches!(ctx.user.role, Role::Admin | Role::Tenant)
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::Tenant => "Manager",
        Role::Viewer => "Viewer",
        Role::Portal => "Portal",
    }
}

/// A person's state as a word and a badge tone.
pub fn person_state(p: &Person) -> (&'static str, &'static str) {
    match (p.deactivated_at, p.invited) {
        (Some(_), _) => ("Deactivated", "red"),
        (None, true) => ("Invited", "amber"),
        (None, false) => ("Active", "green"),
    }
}

const COLUMNS: &[Column] = &[
    Column::Left("Email"),
    Column::Left("Role"),
    Column::Left("Tenant"),
    Column::Left("Status"),
    Column::Right("Sessions"),
    Column::Unseen("Actions"),
];

#[component]
pub fn PeoplePage() -> impl IntoView {
    let ctx = expect_context::<ShellContext>();
    view! {
        <Title text="Users"/>
        <h1 class="text-2xl font-semibold">"Users"</h1>
        {if manages_people(&ctx) {
            view! { <PeopleAdmin/> }.into_any()
        } else {
            view! { <p role="alert" class="mt-4 text-sm text-rose-700 dark:text-rose-400">"Only admins and a tenant's managers manage users."</p> }.into_any()
        }}
    }
}

type Link = Action<String, Result<IssuedUserLink, AppError>>;
type Changed = Action<(String, bool), Result<Person, AppError>>;

#[component]
fn PeopleAdmin() -> impl IntoView {
    let ctx = expect_context::<ShellContext>();
    let toasts = use_toasts();
    let version = RwSignal::new(0u32);
    let people = Resource::new(move || version.get(), |_| list_people(None));
    let issued = RwSignal::new(None::<IssuedUserLink>);
    let bump = move || version.update(|v| *v += 1);

    let invite = Action::new(|input: &NewInvite| invite_user(input.clone()));
    let reset = Action::new(|id: &String| reset_user_link(id.clone()));
    let active = Action::new(|(id, on): &(String, bool)| set_user_active(id.clone(), *on));
    let viewer = Action::new(|(id, on): &(String, bool)| {
        set_user_role(id.clone(), if *on { Role::Viewer } else { Role::Tenant })
    });
    let error = Signal::derive(move || invite.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if let Some(Ok(link)) = invite.value().get() {
            issued.set(Some(link));
            bump();
        }
    });
    on_success(reset, move |link| issued.set(Some(link)));
    on_success(active, move |p| {
        toasts.success(format!(
            "{} {}",
            p.user.email,
            if p.deactivated_at.is_some() { "deactivated" } else { "reactivated" }
        ));
        bump();
    });
    on_success(viewer, move |p| {
        toasts.success(format!("{} is now a {}", p.user.email, role_label(p.user.role).to_lowercase()));
        bump();
    });

    let admin = ctx.user.role == Role::Admin;
    let tenant_id = ctx.tenant.id.clone();
    let tenant_name = ctx.tenant.name.clone();
    let names = StoredValue::new(ctx.tenants.iter().map(|t| (t.id.clone(), t.name.clone())).collect::<Vec<_>>());
    let me = StoredValue::new(ctx.user.id.clone());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_string());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let role = Role::parse(&role.get_untracked()).unwrap_or(Role::Viewer);
        let tenant = (role != Role::Admin).then(|| tenant_id.clone());
        invite.dispatch(NewInvite { email: email.get_untracked(), role, tenant_id: tenant });
    };
    view! {
        <section class="mt-6 max-w-2xl rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10" aria-labelledby="invite-heading">
            <h2 id="invite-heading" class="text-base font-semibold">"Invite someone"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                {format!("They join {tenant_name} (admins join no tenant) through a one-time link you pass on.")}
            </p>
            <form class="mt-4 grid gap-3 sm:grid-cols-[1fr_auto_auto] sm:items-end" on:submit=submit>
                <div>
                    <label for="invite-email" class=LABEL>"Email"</label>
                    <input id="invite-email" type="email" required class=INPUT_CLASS autocomplete="off"
                        prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))
                        aria-invalid=move || error.get().is_some().to_string() aria-describedby="invite-error"/>
                </div>
                <div>
                    <label for="invite-role" class=LABEL>"Role"</label>
                    <select id="invite-role" class=INPUT_CLASS on:change=move |ev| role.set(event_target_value(&ev))>
                        <option value="viewer" selected=true>"Viewer (read-only)"</option>
                        <option value="tenant">"Manager"</option>
                        {admin.then(|| view! { <option value="admin">"Admin"</option> })}
                    </select>
                </div>
                <button type="submit" class=PRIMARY_BUTTON disabled=move || invite.pending().get()>"Invite"</button>
            </form>
            <p id="invite-error" role="alert" class=FIELD_ERROR>
                {move || error.get().map(|e| e.field_message("email").map(|m| format!("Email {m}")).unwrap_or(e.message))}
            </p>
            <IssuedLink issued=issued/>
        </section>
        <Transition fallback=|| view! { <p class="mt-4 text-sm">"Loading users…"</p> }>
            {move || people.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-4 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(list) => view! {
                    <CardTable columns=COLUMNS label="Users">
                        {list.into_iter().map(|p| {
                            let tenant = p.user.tenant_id.as_ref().map(|t| {
                                names.with_value(|n| n.iter().find(|(id, _)| id == t).map(|(_, name)| name.clone()))
                                    .unwrap_or_else(|| t.clone())
                            }).unwrap_or_else(|| "—".into());
                            let mine = me.with_value(|m| *m == p.user.id);
                            view! { <PersonRow p=p tenant=tenant mine=mine reset=reset active=active viewer=viewer/> }
                        }).collect_view()}
                    </CardTable>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn PersonRow(p: Person, tenant: String, mine: bool, reset: Link, active: Changed, viewer: Changed) -> impl IntoView {
    let (state, tone) = person_state(&p);
    let id = StoredValue::new(p.user.id.clone());
    let email = p.user.email.clone();
    let is_viewer = p.user.role == Role::Viewer;
    let tenant_role = matches!(p.user.role, Role::Tenant | Role::Viewer);
    let deactivated = p.deactivated_at.is_some();
    let link_label = if p.invited { "New invite link" } else { "Reset password" };
    view! {
        <tr data-testid="person-row" data-email=email.clone()>
            <td class="px-4 py-3 font-medium">{email.clone()}{mine.then(|| view! { " " <span class=CHIP>"You"</span> })}</td>
            <td class="px-4 py-3">{role_label(p.user.role)}</td>
            <td class="px-4 py-3">{tenant}</td>
            <td class="px-4 py-3"><span class=badge(tone)>{state}</span></td>
            <td class="px-4 py-3 text-right tabular-nums">{p.sessions}</td>
            <td class="whitespace-nowrap px-4 py-3 text-right">
                {(!mine).then(|| view! {
                    {(tenant_role && !deactivated).then(|| view! {
                        <button type="button" class=LINK_BUTTON aria-label=format!("Make {email} a {}", if is_viewer { "manager" } else { "viewer" })
                            on:click=move |_| { viewer.dispatch((id.get_value(), !is_viewer)); }>
                            {if is_viewer { "Make manager" } else { "Make viewer" }}
                        </button>
                    })}
                    {(!deactivated).then(|| view! {
                        <button type="button" class=LINK_BUTTON aria-label=format!("{link_label} for {email}")
                            on:click=move |_| { reset.dispatch(id.get_value()); }>{link_label}</button>
                    })}
                    <button type="button" class=LINK_BUTTON aria-label=format!("{} {email}", if deactivated { "Reactivate" } else { "Deactivate" })
                        on:click=move |_| { active.dispatch((id.get_value(), deactivated)); }>
                        {if deactivated { "Reactivate" } else { "Deactivate" }}
                    </button>
                })}
            </td>
        </tr>
    }
}

/// The link just issued, shown once: it is not stored in a form anyone can read back.
#[component]
fn IssuedLink(issued: RwSignal<Option<IssuedUserLink>>) -> impl IntoView {
    let toasts = use_toasts();
    move || {
        issued.get().map(|l| {
            let url = l.url.clone();
            view! {
                <div class="mt-4 rounded-md bg-emerald-50 p-4 text-sm text-emerald-900 dark:bg-emerald-500/10 dark:text-emerald-200" role="status" data-testid="issued-link">
                    <p class="font-semibold">{format!("One-time link for {}", l.user.email)}</p>
                    {l.emailed_to.clone().map(|to| view! { <p class="mt-1" data-testid="link-emailed">{format!("Emailed to {to}.")}</p> })}
                    {l.email_error.clone().map(|e| view! { <p class="mt-1 font-medium text-rose-700 dark:text-rose-300" data-testid="link-email-error">{e}</p> })}
                    <p class="mt-1">"Pass it on now: it is shown only once, opens once, and expires " <At ms=l.expires_at/> "."</p>
                    <div class="mt-2 flex gap-2">
                        <label for="issued-url" class="sr-only">"One-time link"</label>
                        <input id="issued-url" readonly class=format!("{INPUT_CLASS} font-mono") prop:value=l.url.clone()/>
                        <button type="button" class=SECONDARY_BUTTON on:click=move |_| super::copy_text(url.clone(), toasts, "Link copied")>"Copy"</button>
                    </div>
                </div>
            }
        })
    }
}

/// The signed-in person's own account: password and sessions.
#[component]
pub fn AccountPage() -> impl IntoView {
    let ctx = expect_context::<ShellContext>();
    view! {
        <Title text="Account"/>
        <h1 class="text-2xl font-semibold">"Account"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{format!("Signed in as {} ({})", ctx.user.email, role_label(ctx.user.role))}</p>
        <ChangePassword/>
        <TwoFactor/>
        <Sessions/>
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let toasts = use_toasts();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let change = Action::new(|(c, n): &(String, String)| change_own_password(c.clone(), n.clone()));
    let error = Signal::derive(move || change.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if let Some(Ok(())) = change.value().get() {
            toasts.success("Password changed; your other sessions have ended");
            current.set(String::new());
            new.set(String::new());
        }
    });
    let field_error =
        move |f: &'static str| Signal::derive(move || error.get().and_then(|e| e.field_message(f).map(str::to_string)));
    view! {
        <section class="mt-6 max-w-lg rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10" aria-labelledby="password-heading">
            <h2 id="password-heading" class="text-base font-semibold">"Change password"</h2>
            <form class="mt-4 space-y-3" on:submit=move |ev| {
                ev.prevent_default();
                change.dispatch((current.get_untracked(), new.get_untracked()));
            }>
                <PasswordField id="current-password" label="Current password" value=current error=field_error("current_password") autocomplete="current-password"/>
                <PasswordField id="new-password" label="New password (at least 10 characters)" value=new error=field_error("new_password") autocomplete="new-password"/>
                <p role="alert" class=FIELD_ERROR>{move || error.get().filter(|e| e.fields.is_empty()).map(|e| e.message)}</p>
                <button type="submit" class=PRIMARY_BUTTON disabled=move || change.pending().get()>"Change password"</button>
            </form>
        </section>
    }
}

/// What the proof form beside the two-factor state is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ProofFor {
    Disable,
    Regenerate,
}

/// The person's own second factor: set up (QR code and key in a dialog, then the recovery codes once), switch
/// off (unless their tenant requires it) and new recovery codes.
#[component]
fn TwoFactor() -> impl IntoView {
    let toasts = use_toasts();
    let version = RwSignal::new(0u32);
    let status = Resource::new(move || version.get(), |_| two_factor_status());
    let bump = move || version.update(|v| *v += 1);
    let open = RwSignal::new(false);
    let begin = Action::new(|_: &()| begin_two_factor());
    let confirm = Action::new(|code: &String| confirm_two_factor(code.clone()));
    let codes = RwSignal::new(None::<Vec<String>>);
    let asking = RwSignal::new(None::<ProofFor>);
    let proof = RwSignal::new(String::new());
    let disable = Action::new(|p: &String| disable_two_factor(p.clone()));
    let regenerate = Action::new(|p: &String| regenerate_recovery_codes(p.clone()));
    on_success(begin, move |_| {
        codes.set(None);
        open.set(true);
    });
    on_success(confirm, move |list| {
        codes.set(Some(list));
        bump();
    });
    on_success(disable, move |()| {
        toasts.success("Two-factor sign-in is off");
        asking.set(None);
        proof.set(String::new());
        bump();
    });
    on_success(regenerate, move |list| {
        asking.set(None);
        proof.set(String::new());
        codes.set(Some(list));
        open.set(true);
        bump();
    });
    let begin_error = Signal::derive(move || begin.value().get().and_then(|r| r.err()).map(|e| e.message));
    let confirm_error = Signal::derive(move || confirm.value().get().and_then(|r| r.err()));
    let proof_error = Signal::derive(move || {
        let e = match asking.get() {
            Some(ProofFor::Disable) => disable.value().get().and_then(|r| r.err()),
            Some(ProofFor::Regenerate) => regenerate.value().get().and_then(|r| r.err()),
            None => None,
        };
        e.map(|e| {
            e.field_message("proof")
                .or_else(|| e.field_message("code"))
                .map(|m| format!("That {m}."))
                .unwrap_or(e.message)
        })
    });
    let enrolment = move || begin.value().get().and_then(|r| r.ok());
    let dialog_title = Signal::derive(move || {
        if codes.get().is_some() {
            "Your recovery codes".to_string()
        } else {
            "Set up two-factor sign-in".to_string()
        }
    });
    view! {
        <section class="mt-6 max-w-lg rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading" class="text-base font-semibold">"Two-factor authentication"</h2>
            <Transition fallback=|| view! { <p class="mt-2 text-sm">"Loading…"</p> }>
                {move || status.get().map(|r| match r {
                    Err(e) => view! { <p role="alert" class="mt-2 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                    Ok(s) if s.enabled => view! {
                        <p class="mt-2 text-sm text-slate-700 dark:text-slate-300" data-testid="two-factor-state">
                            <span class=badge("green")>"On"</span>
                            {format!(" Sign-in asks for a code from your authenticator app. {} recovery code{} left.",
                                s.recovery_codes_left, if s.recovery_codes_left == 1 { "" } else { "s" })}
                            {s.required.then_some(" Your tenant requires it.")}
                        </p>
                        <div class="mt-4 flex flex-wrap gap-2">
                            <button type="button" class=SECONDARY_BUTTON on:click=move |_| { proof.set(String::new()); asking.set(Some(ProofFor::Regenerate)); }>
                                "New recovery codes"
                            </button>
                            {(!s.required).then(|| view! {
                                <button type="button" class=SECONDARY_BUTTON on:click=move |_| { proof.set(String::new()); asking.set(Some(ProofFor::Disable)); }>
                                    "Turn off"
                                </button>
                            })}
                        </div>
                    }.into_any(),
                    Ok(s) => view! {
                        <p class="mt-2 text-sm text-slate-700 dark:text-slate-300" data-testid="two-factor-state">
                            <span class=badge("slate")>"Off"</span>
                            " Protect your sign-in with a code from an authenticator app as well as your password."
                            {s.required.then_some(" Your tenant requires it.")}
                        </p>
                        <button type="button" class=format!("{PRIMARY_BUTTON} mt-4") disabled=move || begin.pending().get()
                            on:click=move |_| { begin.dispatch(()); }>"Set up two-factor sign-in"</button>
                        <p role="alert" class=FIELD_ERROR>{move || begin_error.get()}</p>
                    }.into_any(),
                })}
            </Transition>
            {move || asking.get().map(|what| {
                let (label, button) = match what {
                    ProofFor::Disable => ("Current code, a recovery code or your password", "Turn off two-factor sign-in"),
                    ProofFor::Regenerate => ("Current code from your authenticator app", "Make new recovery codes"),
                };
                view! {
                    <form class="mt-4 space-y-2" on:submit=move |ev| {
                        ev.prevent_default();
                        match what {
                            ProofFor::Disable => { disable.dispatch(proof.get_untracked()); }
                            ProofFor::Regenerate => { regenerate.dispatch(proof.get_untracked()); }
                        }
                    }>
                        <label for="two-factor-proof" class=LABEL>{label}</label>
                        <input id="two-factor-proof" type="password" autocomplete="off" required class=INPUT_CLASS
                            prop:value=move || proof.get() on:input=move |ev| proof.set(event_target_value(&ev))
                            aria-invalid=move || proof_error.get().is_some().to_string() aria-describedby="two-factor-proof-error"/>
                        <p id="two-factor-proof-error" role="alert" class=FIELD_ERROR>{move || proof_error.get()}</p>
                        <div class="flex gap-2">
                            <button type="submit" class=PRIMARY_BUTTON disabled=move || disable.pending().get() || regenerate.pending().get()>{button}</button>
                            <button type="button" class=SECONDARY_BUTTON on:click=move |_| asking.set(None)>"Cancel"</button>
                        </div>
                    </form>
                }
            })}
        </section>
        <Modal open=open id="two-factor-dialog" title=dialog_title locked=Signal::derive(move || codes.get().is_some())>
            {move || match (codes.get(), enrolment()) {
                (Some(list), _) => view! {
                    <RecoveryCodes codes=list/>
                    <div class="mt-6 flex justify-end">
                        <button type="button" class=PRIMARY_BUTTON on:click=move |_| { codes.set(None); open.set(false); }>
                            "I have saved them"
                        </button>
                    </div>
                }.into_any(),
                (None, Some(e)) => view! {
                    <EnrolForm enrolment=e pending=confirm.pending() error=confirm_error
                        on_code=Callback::new(move |code: String| { confirm.dispatch(code); })/>
                }.into_any(),
                (None, None) => ().into_any(),
            }}
        </Modal>
    }
}

#[component]
fn PasswordField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
    autocomplete: &'static str,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div>
            <label for=id class=LABEL>{label}</label>
            <input id=id type="password" required class=INPUT_CLASS autocomplete=autocomplete
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().is_some().to_string() aria-describedby=error_id.clone()/>
            <p id=error_id class=FIELD_ERROR>{move || error.get()}</p>
        </div>
    }
}

const SESSION_COLUMNS: &[Column] =
    &[Column::Left("Signed in"), Column::Left("Last seen"), Column::Left("Address"), Column::Left("Browser")];

#[component]
fn Sessions() -> impl IntoView {
    let toasts = use_toasts();
    let version = RwSignal::new(0u32);
    let sessions = Resource::new(move || version.get(), |_| own_sessions());
    let end = Action::new(|_: &()| end_other_sessions());
    on_success(end, move |n| {
        toasts.success(format!("Signed out of {n} other session{}", if n == 1 { "" } else { "s" }));
        version.update(|v| *v += 1);
    });
    view! {
        <section class="mt-8" aria-labelledby="sessions-heading">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 id="sessions-heading" class="text-base font-semibold">"Sessions"</h2>
                <button type="button" class=SECONDARY_BUTTON disabled=move || end.pending().get() on:click=move |_| { end.dispatch(()); }>
                    "Sign out everywhere else"
                </button>
            </div>
            <Transition fallback=|| view! { <p class="mt-4 text-sm">"Loading sessions…"</p> }>
                {move || sessions.get().map(|r| match r {
                    Err(e) => view! { <p role="alert" class="mt-4 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                    Ok(list) => view! {
                        <CardTable columns=SESSION_COLUMNS label="Sessions">
                            {list.into_iter().map(|s| view! {
                                <tr data-testid="session-row">
                                    <td class="px-4 py-3"><Ago ms=s.created_at/>{s.current.then(|| view! { " " <span class=badge("green")>"This browser"</span> })}</td>
                                    <td class="px-4 py-3">{s.last_seen_at.map(|t| view! { <Ago ms=t/> }.into_any()).unwrap_or_else(|| "—".into_any())}</td>
                                    <td class="px-4 py-3 font-mono text-xs">{s.ip.unwrap_or_else(|| "—".into())}</td>
                                    <td class="max-w-xs truncate px-4 py-3 text-xs" title=s.user_agent.clone()>{s.user_agent.clone().unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }).collect_view()}
                        </CardTable>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// `/accept/:token`: an invite or reset link's page, where the person chooses their password and is signed in.
#[component]
pub fn AcceptPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let token = StoredValue::new(params.with_untracked(|p| p.get("token").unwrap_or_default()));
    let info = Resource::new(|| (), move |_| read_user_link(token.get_value()));
    let password = RwSignal::new(String::new());
    let accept = Action::new(move |pw: &String| accept_user_link(token.get_value(), pw.clone()));
    let error = Signal::derive(move || accept.value().get().and_then(|r| r.err()));
    Effect::new(move |_| {
        if let Some(Ok(to)) = accept.value().get() {
            // A full load, so the shell is rendered for the session just opened (or the sign-in page's second
            // step, for a person with a second factor).
            #[cfg(feature = "hydrate")]
            let _ = window().location().assign(&to);
            #[cfg(not(feature = "hydrate"))]
            let _ = to;
        }
    });
    let field_error = Signal::derive(move || {
        error.get().map(|e| e.field_message("password").map(str::to_string).unwrap_or(e.message))
    });
    view! {
        <Title text="Choose a password"/>
        <main class="flex min-h-screen items-center justify-center p-6">
            <div class="w-full max-w-sm rounded-xl bg-white p-8 shadow ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || info.get().map(|r| match r {
                        Err(e) => view! {
                            <h1 class="text-lg font-semibold">"This link does not open"</h1>
                            <p role="alert" class="mt-2 text-sm text-slate-700 dark:text-slate-300">{e.message}</p>
                            <a href="/login" class=format!("{LINK_BUTTON} mt-4 inline-block")>"Sign in"</a>
                        }.into_any(),
                        Ok(i) => view! {
                            <h1 class="text-lg font-semibold">{if i.invite { "Welcome" } else { "Reset your password" }}</h1>
                            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{format!("Choose a password for {}.", i.email)}</p>
                            <form class="mt-6 space-y-4" on:submit=move |ev| {
                                ev.prevent_default();
                                accept.dispatch(password.get_untracked());
                            }>
                                <PasswordField id="choose-password" label="Password (at least 10 characters)" value=password error=field_error autocomplete="new-password"/>
                                <button type="submit" class=format!("{PRIMARY_BUTTON} w-full") disabled=move || accept.pending().get()>
                                    "Set password and sign in"
                                </button>
                            </form>
                        }.into_any(),
                    })}
                </Suspense>
            </div>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::User;

    #[test]
    fn a_persons_state_reads_deactivated_before_invited() {
        let user =
            User { id: "usr_1".into(), email: "a@b.c".into(), role: Role::Viewer, tenant_id: None, created_at: 0 };
        let p = Person { user, deactivated_at: None, invited: true, sessions: 0 };
        assert_eq!(person_state(&p).0, "Invited");
        assert_eq!(person_state(&Person { deactivated_at: Some(1), ..p.clone() }).0, "Deactivated");
        assert_eq!(person_state(&Person { invited: false, ..p }).0, "Active");
    }
}
