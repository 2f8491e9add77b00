//! What the swap form holds and how it changes: the tokens, the amount on the side the user
//! fixed, the slippage tolerance, the live quote, and the review step.

use leptos::prelude::*;
use solstice_types::{
    Amount, Token,
    swap::{DEFAULT_SLIPPAGE_BPS, MAX_SLIPPAGE_BPS, MIN_SLIPPAGE_BPS, Quote, SwapSide},
};

use crate::{
    api::swaps::swap_quote,
    components::{balances::Balances, format::new_key},
};

/// The swap form's state. Every field is a signal, so the struct is `Copy` and each part of
/// the page takes it whole.
#[derive(Clone, Copy)]
pub struct SwapForm {
    pub balances: StoredValue<Balances>,
    pub from: RwSignal<Token>,
    pub to: RwSignal<Token>,
    /// What the user types (or the quote fills in) on each side.
    pub pay: RwSignal<String>,
    pub receive: RwSignal<String>,
    /// Which side the user fixed: the other is quoted.
    pub side: RwSignal<SwapSide>,
    pub slippage_bps: RwSignal<u32>,
    /// The custom tolerance as typed, in percent; empty when a preset is chosen.
    pub custom_slippage: RwSignal<String>,
    pub quote: RwSignal<Option<Quote>>,
    pub problem: RwSignal<Option<String>>,
    pub quoting: RwSignal<bool>,
    pub reviewing: RwSignal<bool>,
    /// The idempotency key of the next swap submission.
    pub key: RwSignal<String>,
    /// Answers to older quote requests are dropped: only the latest question's quote is shown.
    generation: StoredValue<u64>,
}

impl SwapForm {
    pub fn new(balances: Balances) -> SwapForm {
        SwapForm {
            balances: StoredValue::new(balances),
            from: RwSignal::new(Token::Sol),
            to: RwSignal::new(Token::Usdc),
            pay: RwSignal::new(String::new()),
            receive: RwSignal::new(String::new()),
            side: RwSignal::new(SwapSide::ExactIn),
            slippage_bps: RwSignal::new(DEFAULT_SLIPPAGE_BPS),
            custom_slippage: RwSignal::new(String::new()),
            quote: RwSignal::new(None),
            problem: RwSignal::new(None),
            quoting: RwSignal::new(false),
            reviewing: RwSignal::new(false),
            key: RwSignal::new(new_key()),
            generation: StoredValue::new(0),
        }
    }

    /// What the wallet holds of `token`.
    pub fn balance(&self, token: Token) -> Amount {
        self.balances.with_value(|balances| balances.get(&token).copied().unwrap_or(Amount::ZERO))
    }

    /// The amount the user fixed, as typed.
    pub fn fixed_text(&self) -> String {
        if self.side.get() == SwapSide::ExactIn { self.pay.get() } else { self.receive.get() }
    }

    /// Starts a new question: any answer to an earlier one is dropped. Returns its number.
    pub fn next_question(&self) -> u64 {
        self.generation.update_value(|generation| *generation += 1);
        self.generation.get_value()
    }

    /// Whether `question` is still the latest. Never, once the user has left the page: a
    /// pause in typing or a quote that arrives after that has nothing left to fill in.
    pub fn is_latest(&self, question: u64) -> bool {
        self.generation.try_get_value() == Some(question)
    }

    /// Asks for a live quote for what the form says now, and fills in the other side.
    pub fn fetch_quote(self) {
        let text = self.fixed_text().trim().to_owned();
        let asked = self.next_question();
        let side = self.side.get_untracked();
        let (from, to) = (self.from.get_untracked(), self.to.get_untracked());
        let fixed_token = if side == SwapSide::ExactIn { from } else { to };
        let zero = Amount::parse(&text, fixed_token.decimals()).is_ok_and(Amount::is_zero);
        if text.is_empty() || zero {
            self.quote.set(None);
            self.problem.set(None);
            return;
        }
        let slippage_bps = self.slippage_bps.get_untracked();
        self.quoting.set(true);
        leptos::task::spawn_local(async move {
            let answer = swap_quote(from.to_string(), to.to_string(), text, side, slippage_bps).await;
            if !self.is_latest(asked) {
                return;
            }
            self.quoting.set(false);
            match answer {
                Ok(fresh) => {
                    match fresh.side {
                        SwapSide::ExactIn => self.receive.set(fresh.amount_out.format(fresh.to.decimals())),
                        SwapSide::ExactOut => self.pay.set(fresh.amount_in.format(fresh.from.decimals())),
                    }
                    self.problem.set(None);
                    self.quote.set(Some(fresh));
                }
                Err(error) => {
                    self.quote.set(None);
                    self.reviewing.set(false);
                    self.problem.set(Some(error.message));
                }
            }
        });
    }

    /// The user typed `text` on the side they fix (`ExactIn` pays it, `ExactOut` receives it).
    pub fn type_amount(&self, side: SwapSide, text: String) {
        self.side.set(side);
        match side {
            SwapSide::ExactIn => self.pay.set(text),
            SwapSide::ExactOut => self.receive.set(text),
        }
    }

    /// Pays the whole balance of the token sold.
    pub fn pay_max(&self) {
        let from = self.from.get();
        self.type_amount(SwapSide::ExactIn, self.balance(from).format(from.decimals()));
    }

    /// Swaps the two tokens and their amounts; the fixed side follows its amount.
    pub fn flip(&self) {
        let (from, to) = (self.from.get(), self.to.get());
        self.from.set(to);
        self.to.set(from);
        let (pay, receive) = (self.pay.get(), self.receive.get());
        self.pay.set(receive);
        self.receive.set(pay);
        self.side
            .update(|side| *side = if *side == SwapSide::ExactIn { SwapSide::ExactOut } else { SwapSide::ExactIn });
        self.quote.set(None);
    }

    /// Chooses `token` for `side` (the other side's token when `other`); choosing the token
    /// already on the other side swaps them.
    pub fn choose(&self, side: RwSignal<Token>, other: RwSignal<Token>, token: Token) {
        if token == other.get() {
            other.set(side.get());
        }
        side.set(token);
        self.quote.set(None);
    }

    /// Picks a preset tolerance.
    pub fn pick_slippage(&self, bps: u32) {
        self.custom_slippage.set(String::new());
        self.slippage_bps.set(bps);
    }

    /// Takes a custom tolerance as typed, in percent; empty goes back to the default.
    pub fn type_slippage(&self, text: String) {
        let bps = Amount::parse(text.trim(), 2).ok().and_then(|percent| u32::try_from(percent.base_units()).ok());
        match bps.filter(|bps| (MIN_SLIPPAGE_BPS..=MAX_SLIPPAGE_BPS).contains(bps)) {
            Some(bps) => self.slippage_bps.set(bps),
            None if text.trim().is_empty() => self.slippage_bps.set(DEFAULT_SLIPPAGE_BPS),
            None => self.problem.set(Some("Choose a slippage tolerance between 0.01% and 5%.".to_owned())),
        }
        self.custom_slippage.set(text);
    }

    /// Whole seconds until the quote expires, as of `now_ms`.
    pub fn seconds_left(&self, now_ms: i64) -> Option<i64> {
        self.quote.with(|quote| quote.as_ref().map(|quote| ((quote.expires_at_ms - now_ms).max(0) + 999) / 1_000))
    }
}
