//! Send tokens to another Solstice wallet: fill in, review (the recipient confirmed by the
//! transfer service, the balance after), send, then the receipt.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};
use solstice_types::{Amount, Token, WalletAddress, transfer::MAX_MEMO_CHARS};

use crate::{
    api::transfers::{find_recipient, recent_recipients, send_transfer},
    components::{
        auth::use_auth,
        balances::{Balances, WithBalances},
        errors::Problem,
        format::{format_amount, new_key},
    },
};

#[component]
pub fn SendPage() -> impl IntoView {
    view! {
        <Title text="Send" />
        <div class="page-head">
            <h1 class="page-title">"Send tokens"</h1>
            <A href="/transfers" attr:class="btn btn-small">"Transfer history"</A>
        </div>
        <WithBalances what="send tokens" then=|balances| view! { <SendFlow balances /> } />
    }
}

#[component]
fn SendFlow(balances: Balances) -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let held: Vec<Token> = Token::ALL.into_iter().filter(|t| balances.get(t).is_some_and(|a| !a.is_zero())).collect();
    let holds_nothing = held.is_empty();
    let held = StoredValue::new(held);
    let balances = StoredValue::new(balances);
    let to = RwSignal::new(String::new());
    let token = RwSignal::new(held.with_value(|held| held.first().copied().unwrap_or(Token::Sol)));
    let amount = RwSignal::new(String::new());
    let memo = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let reviewing = RwSignal::new(None::<WalletAddress>);
    let key = RwSignal::new(new_key());

    let balance = move || balances.with_value(|b| b.get(&token.get()).copied().unwrap_or(Amount::ZERO));
    let parsed = move || Amount::parse(amount.get().trim(), token.get().decimals());
    let after = move || parsed().ok().and_then(|a| balance().checked_sub(a));

    let recent = Resource::new(|| (), |_| recent_recipients());
    let check = Action::new(|address: &String| find_recipient(address.clone()));
    let send = Action::new(|args: &[String; 5]| {
        let [to, token, amount, memo, key] = args.clone();
        send_transfer(to, token, amount, memo, key)
    });

    Effect::new(move |_| match check.value().get() {
        Some(Ok(recipient)) => reviewing.set(Some(recipient.address)),
        Some(Err(error)) => problem.set(Some(error.message)),
        None => {}
    });
    Effect::new(move |_| match send.value().get() {
        Some(Ok(transfer)) => {
            key.set(new_key());
            auth.me.refetch();
            navigate(&format!("/transfers/{}?sent=1", transfer.reference), Default::default());
        }
        Some(Err(error)) => {
            if !error.outcome_unknown() {
                key.set(new_key());
            }
            problem.set(Some(error.message));
        }
        None => {}
    });

    let review = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        problem.set(None);
        let address = to.get().trim().to_owned();
        if let Err(error) = WalletAddress::parse(&address) {
            return problem.set(Some(error.to_string()));
        }
        match parsed() {
            Err(error) => return problem.set(Some(error.to_string())),
            Ok(a) if a.is_zero() => return problem.set(Some("Enter an amount greater than zero.".to_owned())),
            Ok(_) if after().is_none() => {
                return problem.set(Some(format!("Your {} balance is too low for this transfer.", token.get())));
            }
            Ok(_) => {}
        }
        if memo.get().chars().count() > MAX_MEMO_CHARS {
            return problem.set(Some(format!("Keep the memo to {MAX_MEMO_CHARS} characters.")));
        }
        check.dispatch(address);
    };
    let confirm = move |_| {
        problem.set(None);
        send.dispatch([to.get().trim().to_owned(), token.get().to_string(), amount.get(), memo.get(), key.get()]);
    };
    let edit = move |_| {
        reviewing.set(None);
        problem.set(None);
    };

    view! {
        <Show when=move || !holds_nothing fallback=|| view! { <p class="card muted">"You hold no tokens to send yet."</p> }>
            <section class="card narrow">
                <Show
                    when=move || reviewing.get().is_none()
                    fallback=move || {
                        let recipient = reviewing.get().expect("shown while reviewing");
                        view! {
                            <h2>"Review transfer"</h2>
                            <dl class="facts" data-testid="send-review">
                                <dt>"To"</dt>
                                <dd class="recipient">
                                    <strong class="mono">{recipient.short()}</strong>
                                    <span class="address mono small" data-testid="review-recipient">{recipient.to_string()}</span>
                                </dd>
                                <dt>"Amount"</dt>
                                <dd data-testid="review-amount">
                                    {move || parsed().map(|a| format_amount(a, token.get())).unwrap_or_default()}
                                </dd>
                                <Show when=move || !memo.get().trim().is_empty()>
                                    <dt>"Memo"</dt>
                                    <dd>{move || memo.get().trim().to_owned()}</dd>
                                </Show>
                                <dt>"Balance after"</dt>
                                <dd data-testid="review-after">
                                    {move || after().map(|a| format_amount(a, token.get())).unwrap_or_default()}
                                </dd>
                                <dt>"Network fee"</dt>
                                <dd>"None: transfers between Solstice wallets are free."</dd>
                            </dl>
                            <Problem problem />
                            <div class="actions">
                                <button type="button" class="btn" on:click=edit disabled=move || send.pending().get()>
                                    "Edit"
                                </button>
                                <button
                                    type="button"
                                    class="btn btn-primary"
                                    on:click=confirm
                                    disabled=move || send.pending().get()
                                >
                                    {move || if send.pending().get() { "Sending…" } else { "Send now" }}
                                </button>
                            </div>
                        }
                    }
                >
                    <form class="form" on:submit=review novalidate>
                        <label for="to">"Recipient's wallet address"</label>
                        <input
                            id="to"
                            name="to"
                            class="mono"
                            autocomplete="off"
                            autocapitalize="off"
                            spellcheck="false"
                            placeholder="e.g. 7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
                            bind:value=to
                            required
                        />
                        <Transition fallback=|| ()>
                            {move || {
                                recent
                                    .get()
                                    .and_then(Result::ok)
                                    .filter(|recipients| !recipients.is_empty())
                                    .map(|recipients| view! { <RecentRecipients recipients to /> })
                            }}
                        </Transition>
                        <label for="token">"Token"</label>
                        <select
                            id="token"
                            name="token"
                            on:change=move |ev| {
                                if let Ok(chosen) = event_target_value(&ev).parse() {
                                    token.set(chosen);
                                }
                            }
                        >
                            {held
                                .get_value()
                                .into_iter()
                                .map(|t| view! { <option value=t.symbol() selected=move || token.get() == t>{t.symbol()}</option> })
                                .collect_view()}
                        </select>
                        <label for="amount">"Amount"</label>
                        <div class="input-row">
                            <input
                                id="amount"
                                name="amount"
                                inputmode="decimal"
                                autocomplete="off"
                                placeholder="0.0"
                                aria-describedby="balance-hint"
                                bind:value=amount
                                required
                            />
                            <button
                                type="button"
                                class="btn btn-small btn-ghost"
                                on:click=move |_| amount.set(balance().format(token.get().decimals()))
                            >
                                "Max"
                            </button>
                        </div>
                        <p id="balance-hint" class="hint" data-testid="send-balance">
                            {move || format!("Available: {}", format_amount(balance(), token.get()))}
                        </p>
                        <label for="memo">"Memo " <span class="muted">"(optional)"</span></label>
                        <input id="memo" name="memo" maxlength=MAX_MEMO_CHARS autocomplete="off" bind:value=memo />
                        <Problem problem />
                        <button type="submit" class="btn btn-primary btn-block" disabled=move || check.pending().get()>
                            {move || if check.pending().get() { "Checking the recipient…" } else { "Review" }}
                        </button>
                    </form>
                </Show>
            </section>
        </Show>
        <p class="muted small center">"To be paid, show your " <A href="/receive">"address and QR code"</A> "."</p>
    }
}

/// The wallets sent to last: a tap fills in the recipient.
#[component]
fn RecentRecipients(recipients: Vec<WalletAddress>, to: RwSignal<String>) -> impl IntoView {
    view! {
        <div class="recent-recipients" role="group" aria-label="Recent recipients" data-testid="recent-recipients">
            <span class="hint">"Recent:"</span>
            {recipients
                .into_iter()
                .map(|address| {
                    let full = address.to_string();
                    view! {
                        <button
                            type="button"
                            class="chip mono"
                            title=full.clone()
                            aria-label=format!("Send to {full}")
                            on:click=move |_| to.set(full.clone())
                        >
                            {address.short()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}
