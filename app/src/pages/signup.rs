//! Create a wallet: choose a password and an initial SOL balance.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use solstice_types::{Amount, Token};

use crate::{
    api::{SignUp, faucet_allowance},
    components::{auth::use_auth, copy::CopyButton, errors::Alert},
    model::SignedUp,
};

#[component]
pub fn SignUpPage() -> impl IntoView {
    // A result belongs to this visit of the page: the action is the page's own.
    let action = ServerAction::<SignUp>::new();
    use_auth().follow(action);
    let created = move || action.value().get().and_then(Result::ok);
    view! {
        <Title text="Create a wallet" />
        <Show when=move || created().is_none() fallback=move || created().map(|created| view! { <Created created /> })>
            <SignUpForm action />
        </Show>
    }
}

#[component]
fn SignUpForm(action: ServerAction<SignUp>) -> impl IntoView {
    let error = move || action.value().get().and_then(Result::err).map(|error| error.message);
    // Asked again after each attempt: a sign-up uses up some of the network's daily budget.
    let allowance = Resource::new(move || action.version().get(), |_| faucet_allowance());
    let hint = move || {
        let sol = |amount: Amount| amount.format_display(Token::Sol.decimals(), 9);
        match allowance.get().and_then(Result::ok) {
            None => "Credited from the Solstice faucet.".to_owned(),
            Some(allowance) if allowance.left_today.is_zero() => {
                "Your network has received today's faucet SOL. Try again tomorrow.".to_owned()
            }
            Some(allowance) if allowance.left_today < allowance.per_wallet => format!(
                "Up to {} SOL, credited from the Solstice faucet: your network can receive {} SOL more today.",
                sol(allowance.per_wallet),
                sol(allowance.left_today)
            ),
            Some(allowance) => format!("Up to {} SOL, credited from the Solstice faucet.", sol(allowance.per_wallet)),
        }
    };
    view! {
        <section class="card narrow">
            <h1>"Create a wallet"</h1>
            <p class="muted">"Solstice creates a new Solana wallet address for you. Choose a password to protect it."</p>
            <ActionForm action attr:class="form" attr:novalidate=true>
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    minlength="10"
                    aria-describedby="password-hint"
                    required
                />
                <p id="password-hint" class="hint">"At least 10 characters."</p>
                <label for="confirm_password">"Confirm password"</label>
                <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required />
                <label for="initial_sol">"Initial SOL balance"</label>
                <div class="input-unit">
                    <input
                        id="initial_sol"
                        name="initial_sol"
                        inputmode="decimal"
                        autocomplete="off"
                        value="100"
                        aria-describedby="initial-hint"
                        required
                    />
                    <span aria-hidden="true">"SOL"</span>
                </div>
                <p id="initial-hint" class="hint">
                    <Suspense fallback=|| "Credited from the Solstice faucet.">{hint}</Suspense>
                </p>
                {move || error().map(|message| view! { <Alert message /> })}
                <button type="submit" class="btn btn-primary btn-block" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating your wallet…" } else { "Create wallet" }}
                </button>
            </ActionForm>
            <p class="muted small">"Already have a wallet? " <A href="/login">"Log in"</A></p>
        </section>
    }
}

#[component]
fn Created(created: SignedUp) -> impl IntoView {
    let sol = Token::Sol.decimals();
    view! {
        <section class="card narrow" data-testid="signup-success">
            <h1>"Your wallet is ready"</h1>
            <p>"This is your wallet address. " <strong>"Save it: you need it to log in."</strong></p>
            <p class="address mono" data-testid="new-address">{created.address.to_string()}</p>
            <CopyButton text=created.address.to_string() label="Copy address" />
            <dl class="facts">
                <dt>"Balance"</dt>
                <dd>{created.sol_balance.format_display(sol, 9)} " SOL"</dd>
                <dt>"Airdrop reference"</dt>
                <dd class="mono">{created.airdrop.to_string()}</dd>
            </dl>
            <A href="/" attr:class="btn btn-primary btn-block">"Go to my wallet"</A>
        </section>
    }
}
