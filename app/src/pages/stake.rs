//! Staking: choose a validator and an amount, watch the stake activate at the epoch boundary
//! and earn every epoch, unstake, withdraw.

use leptos::prelude::*;
use leptos_meta::Title;
use solstice_types::{
    Amount, Token, format_bps,
    stake::{MIN_STAKE_LAMPORTS, StakeAccount, StakeOverview, StakeState},
};

use crate::{
    api::stake::{StakeSol, Unstake, WithdrawStake, my_stakes},
    components::{
        auth::use_auth,
        errors::{Problem, loaded},
        format::{format_amount, format_time, new_key},
        live_prices::use_live_prices,
    },
};

/// The overview is fetched again this long after an epoch ends, when rewards have been paid.
const AFTER_BOUNDARY_MS: i64 = 1_500;

#[component]
pub fn StakePage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    // Fetched again after this page's own actions, and when the account's money moves
    // elsewhere (a reward is paid, a stake is made in another tab).
    let moved = crate::components::auth::use_auth().moved;
    let overview = Resource::new(move || (version.get(), moved.get()), |_| my_stakes());
    // The form outlives each refresh of the overview (every epoch), so typing is never lost.
    let form = StakeForm {
        chosen: RwSignal::new(String::new()),
        amount: RwSignal::new(String::new()),
        problem: RwSignal::new(None),
        key: RwSignal::new(new_key()),
    };
    view! {
        <Title text="Stake" />
        <h1 class="page-title">"Stake SOL"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading staking…"</p> }>
            {move || {
                overview
                    .get()
                    .map(|result| loaded(result, "stake SOL", None, |overview| view! { <Staking overview version form /> }))
            }}
        </Transition>
    }
}

/// What the user is filling in.
#[derive(Clone, Copy)]
struct StakeForm {
    chosen: RwSignal<String>,
    amount: RwSignal<String>,
    problem: RwSignal<Option<String>>,
    key: RwSignal<String>,
}

/// "1 h 02 m", "3 m 05 s", "12 s".
fn format_duration(ms: i64) -> String {
    let seconds = (ms.max(0) + 999) / 1_000;
    let (h, m, s) = (seconds / 3_600, (seconds % 3_600) / 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m:02} m")
    } else if m > 0 {
        format!("{m} m {s:02} s")
    } else {
        format!("{s} s")
    }
}

#[component]
fn Staking(overview: StakeOverview, version: RwSignal<u32>, form: StakeForm) -> impl IntoView {
    let auth = use_auth();
    let live = use_live_prices();
    let epoch = overview.epoch.clone();
    // The service's clock against the browser's, so the countdown does not depend on skew.
    let fetched_at = StoredValue::new(None::<i64>);
    let now = move || {
        let browser = live.now_ms.get();
        if browser == 0 {
            return epoch.now_ms;
        }
        let first = fetched_at.get_value().unwrap_or_else(|| {
            fetched_at.set_value(Some(browser));
            browser
        });
        epoch.now_ms + (browser - first)
    };
    let ends_at = overview.epoch.ends_at_ms;
    let length = overview.epoch.length_ms.max(1);
    let left = move || ends_at - now();
    let progress = move || (((length - left()).clamp(0, length)) * 100 / length) as u32;
    // Fetch again once the epoch is over and its rewards are in, and every few seconds.
    Effect::new(move |_| {
        if left() < -AFTER_BOUNDARY_MS {
            version.update(|v| *v += 1);
        }
    });

    let sol = move || auth.me.get().and_then(Result::ok).flatten().map(|me| me.sol_balance).unwrap_or(Amount::ZERO);
    let validators = overview.validators.clone();
    let StakeForm { chosen, amount, problem, key } = form;
    if chosen.get_untracked().is_empty() {
        chosen.set(validators.first().map(|v| v.id.clone()).unwrap_or_default());
    }
    let stake = ServerAction::<StakeSol>::new();
    let unstake = ServerAction::<Unstake>::new();
    let withdraw = ServerAction::<WithdrawStake>::new();
    Effect::new(move |_| match stake.value().get() {
        Some(Ok(_)) => {
            key.set(new_key());
            amount.set(String::new());
            auth.me.refetch();
            version.update(|v| *v += 1);
        }
        Some(Err(error)) => {
            if !error.outcome_unknown() {
                key.set(new_key());
            }
            problem.set(Some(error.message));
        }
        None => {}
    });
    Effect::new(move |_| {
        let results = [unstake.value().get().map(|r| r.map(drop)), withdraw.value().get().map(|r| r.map(drop))];
        for result in results.into_iter().flatten() {
            match result {
                Ok(()) => {
                    auth.me.refetch();
                    version.update(|v| *v += 1);
                }
                Err(error) => problem.set(Some(error.message)),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        problem.set(None);
        match Amount::parse(amount.get().trim(), Token::Sol.decimals()) {
            Err(error) => problem.set(Some(error.to_string())),
            Ok(a) if a.base_units() < MIN_STAKE_LAMPORTS => problem.set(Some("Stake at least 0.01 SOL.".to_owned())),
            Ok(a) if a > sol() => problem.set(Some("Your SOL balance is too low to stake this much.".to_owned())),
            Ok(_) => {
                stake.dispatch(StakeSol { validator: chosen.get(), amount: amount.get(), idempotency_key: key.get() });
            }
        }
    };
    let accounts = overview.accounts.clone();
    let earning: Amount = accounts
        .iter()
        .filter(|a| a.state != StakeState::Withdrawn)
        .fold(Amount::ZERO, |sum, a| sum.checked_add(a.amount).unwrap_or(sum));
    let rewards: Amount = accounts.iter().fold(Amount::ZERO, |sum, a| sum.checked_add(a.rewards).unwrap_or(sum));

    view! {
        <section class="card" aria-labelledby="epoch-heading" data-testid="epoch">
            <h2 id="epoch-heading" class="card-label">{format!("Epoch {}", overview.epoch.epoch)}</h2>
            <div
                class="progress"
                role="progressbar"
                aria-label="Epoch progress"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || progress().to_string()
            >
                // Drawn, not styled inline: the Content Security Policy allows no inline styles.
                <svg class="progress-track" viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true">
                    <rect class="progress-bar" height="1" width=move || progress().to_string() />
                </svg>
            </div>
            <p class="muted small" data-testid="epoch-countdown">
                {move || if left() > 0 { format!("Next epoch in {}", format_duration(left())) } else { "Starting the next epoch…".to_owned() }}
            </p>
            <dl class="facts">
                <dt>"Staked"</dt>
                <dd data-testid="total-staked">{format_amount(earning, Token::Sol)}</dd>
                <dt>"Rewards earned"</dt>
                <dd data-testid="total-rewards">{format!("{} SOL", rewards.format_display(Token::Sol.decimals(), 9))}</dd>
            </dl>
        </section>
        <section class="card" aria-labelledby="stake-heading">
            <h2 id="stake-heading">"Stake"</h2>
            <form class="form" on:submit=submit novalidate>
                <fieldset class="validators">
                    <legend>"Validator"</legend>
                    {validators
                        .into_iter()
                        .map(|v| {
                            let id = v.id.clone();
                            let checked = {
                                let id = id.clone();
                                move || chosen.get() == id
                            };
                            view! {
                                <label class="validator">
                                    <input
                                        type="radio"
                                        name="validator"
                                        value=id.clone()
                                        prop:checked=checked
                                        on:change=move |_| chosen.set(id.clone())
                                    />
                                    <span class="validator-name">{v.name.clone()}</span>
                                    <span class="muted small">
                                        {format!(
                                            "APY {} · commission {} · you earn ≈ {}",
                                            format_bps(v.apy_bps),
                                            format_bps(v.commission_bps),
                                            format_bps(v.net_apy_bps()),
                                        )}
                                    </span>
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <label for="stake-amount">"Amount"</label>
                <div class="input-row">
                    <input
                        id="stake-amount"
                        inputmode="decimal"
                        autocomplete="off"
                        placeholder="0.0"
                        aria-describedby="stake-available"
                        bind:value=amount
                    />
                    <button type="button" class="btn btn-small btn-ghost" on:click=move |_| amount.set(sol().format(Token::Sol.decimals()))>
                        "Max"
                    </button>
                </div>
                <p id="stake-available" class="hint" data-testid="stake-available">
                    {move || format!("Available: {}", format_amount(sol(), Token::Sol))}
                </p>
                <Problem problem />
                <button type="submit" class="btn btn-primary btn-block" disabled=move || stake.pending().get()>
                    {move || if stake.pending().get() { "Staking…" } else { "Stake" }}
                </button>
                <p class="muted small">
                    "New stake starts earning when the current epoch ends. Unstaked SOL can be withdrawn after the epoch in which you unstake."
                </p>
            </form>
        </section>
        <section class="card" aria-labelledby="accounts-heading">
            <h2 id="accounts-heading">"Your stake accounts"</h2>
            {if accounts.is_empty() {
                view! { <p class="muted">"No stake accounts yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="activity-list stake-list" data-testid="stake-accounts">
                        {accounts
                            .into_iter()
                            .map(|account| view! { <StakeRow account unstake withdraw /> })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn StakeRow(
    account: StakeAccount,
    unstake: ServerAction<Unstake>,
    withdraw: ServerAction<WithdrawStake>,
) -> impl IntoView {
    let (label, note) = match account.state {
        StakeState::Activating => ("Activating", format!("Earns from epoch {}", account.activation_epoch)),
        StakeState::Active => ("Active", "Earning every epoch".to_owned()),
        StakeState::Deactivating => {
            ("Deactivating", format!("Withdrawable from epoch {}", account.deactivation_epoch.unwrap_or_default()))
        }
        StakeState::Inactive => ("Inactive", "Ready to withdraw".to_owned()),
        StakeState::Withdrawn => ("Withdrawn", "Paid back to your wallet".to_owned()),
    };
    let address = account.address.clone();
    let short = format!("{}…{}", &address[..4.min(address.len())], &address[address.len().saturating_sub(4)..]);
    let action =
        match account.state {
            StakeState::Activating | StakeState::Active => {
                let address = address.clone();
                // One key per account shown: a click retried (or a double click) unstakes once.
                let key = new_key();
                Some(
                    view! {
                        <button
                            type="button"
                            class="btn btn-small"
                            disabled=move || unstake.pending().get()
                            on:click=move |_| {
                                unstake.dispatch(Unstake { address: address.clone(), idempotency_key: key.clone() });
                            }
                        >
                            "Unstake"
                        </button>
                    }
                    .into_any(),
                )
            }
            StakeState::Inactive => {
                let address = address.clone();
                let key = new_key();
                Some(view! {
                <button
                    type="button"
                    class="btn btn-small btn-primary"
                    disabled=move || withdraw.pending().get()
                    on:click=move |_| {
                        withdraw.dispatch(WithdrawStake { address: address.clone(), idempotency_key: key.clone() });
                    }
                >
                    "Withdraw"
                </button>
            }
                .into_any())
            }
            _ => None,
        };
    view! {
        <li class="activity stake-row" data-testid="stake-account" data-state=label.to_lowercase()>
            <div class="activity-link">
                <span class="activity-main">
                    <strong>
                        <span class=format!("badge badge-{}", label.to_lowercase()) data-testid="stake-state">{label}</span>
                        " "
                        {account.validator.name.clone()}
                    </strong>
                    <span class="muted small">{format!("{note} · {} · since {}", short, format_time(account.created_at_ms))}</span>
                </span>
                <span class="activity-figures">
                    <span class="amount" data-testid="stake-amount">
                        {format!("{} SOL", account.amount.format_display(Token::Sol.decimals(), 9))}
                    </span>
                    <span class="muted small" data-testid="stake-rewards">
                        {format!("+{} SOL rewards", account.rewards.format_display(Token::Sol.decimals(), 9))}
                    </span>
                    {action}
                </span>
            </div>
        </li>
    }
}
