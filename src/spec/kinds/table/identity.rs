//! Reading a column's `identity:`: a keyword, or a mapping with the
//! identity sequence's options.

use super::read::TableReader;
use super::*;

impl TableReader<'_> {
    /// `identity:` as a keyword or with its sequence's options.
    pub(super) fn read_identity(
        &mut self,
        col: &mut Column,
        i: &Located<TextOr<IdentityOptionsSpec>>,
        what: &dyn std::fmt::Display,
    ) {
        let kind = |k: &IdentitySpec| match k {
            IdentitySpec::Always => Identity::Always,
            IdentitySpec::ByDefault => Identity::ByDefault,
        };
        match &i.value {
            TextOr::Text(t) => {
                col.identity = match t.as_str() {
                    "always" => Some(Identity::Always),
                    "by_default" => Some(Identity::ByDefault),
                    other => {
                        let mean =
                            crate::spec::error::did_you_mean(other, &["always", "by_default"])
                                .map(|m| format!("did you mean `{m}`? "))
                                .unwrap_or_default();
                        self.diags.push(
                            Diagnostic::new(i.span(), format!("{what}: unknown identity `{other}`"))
                                .help(format!("{mean}write `always`, `by_default`, or a mapping `{{ generated: always, start: 1000, increment: 1, min_value, max_value, cache, cycle }}`")),
                        );
                        return;
                    }
                };
            }
            TextOr::Map(o) => {
                if o.increment == Some(0) {
                    self.err(
                        i.span(),
                        format!("{what}: an identity's increment cannot be 0"),
                    );
                    return;
                }
                if o.cache.is_some_and(|c| c < 1) {
                    self.err(
                        i.span(),
                        format!("{what}: an identity's cache is at least 1"),
                    );
                    return;
                }
                if let (Some(lo), Some(hi)) = (o.min_value, o.max_value)
                    && lo >= hi
                {
                    self.err(
                        i.span(),
                        format!("{what}: min_value {lo} is not below max_value {hi}"),
                    );
                    return;
                }
                col.identity = Some(kind(&o.generated));
                col.identity_options = SequenceOptions {
                    start: o.start,
                    increment: o.increment,
                    min_value: o.min_value,
                    max_value: o.max_value,
                    cache: o.cache,
                    cycle: o.cycle,
                };
            }
        }
    }
}
