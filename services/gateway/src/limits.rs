//! What a query may cost, counted as it will execute: fragments expanded. A query of
//! fragments that each spread the previous one twice is a few hundred bytes and
//! millions of fields; it is measured in time linear in its text (each fragment once)
//! and refused before validation or execution touch it. The validation step's own
//! errors get their codes here too.

use abe_schema::Code;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, ServerError, ValidationResult};
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest query accepted, fragments expanded; deep enough for area > parent > parent.
pub const MAX_DEPTH: usize = 16;
/// Most fields a query may select once its fragments are expanded.
pub const MAX_FIELDS: u64 = 5_000;
/// Largest query complexity accepted: every field counted once for each item the lists
/// around it may return (their `first`, or the default page of 100). A steward's
/// connectors with their latest rejects weigh about 120,000; a thousand areas each with
/// a thousand schools, millions.
pub const MAX_COMPLEXITY: usize = 250_000;

/// The size of a selection set once expanded: fields, and how deep they nest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    /// Fields selected, every spread of a fragment counted again.
    pub fields: u64,
    /// Deepest nesting of fields.
    pub depth: u64,
}

/// `memo` holds measured fragments; a fragment being measured is in it as `None`, so a
/// cycle (which validation refuses) counts nothing rather than recursing forever.
fn measure_set(
    document: &ExecutableDocument,
    selection_set: &SelectionSet,
    memo: &mut HashMap<Name, Option<Size>>,
) -> Size {
    let mut size = Size::default();
    for selection in &selection_set.items {
        let part = match &selection.node {
            Selection::Field(field) => {
                let inner = measure_set(document, &field.node.selection_set.node, memo);
                Size {
                    fields: inner.fields.saturating_add(1),
                    depth: inner.depth.saturating_add(1),
                }
            }
            Selection::InlineFragment(fragment) => {
                measure_set(document, &fragment.node.selection_set.node, memo)
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                match memo.get(name) {
                    Some(Some(known)) => *known,
                    Some(None) => Size::default(),
                    None => match document.fragments.get(name) {
                        Some(fragment) => {
                            memo.insert(name.clone(), None);
                            let measured =
                                measure_set(document, &fragment.node.selection_set.node, memo);
                            memo.insert(name.clone(), Some(measured));
                            measured
                        }
                        None => Size::default(),
                    },
                }
            }
        };
        size.fields = size.fields.saturating_add(part.fields);
        size.depth = size.depth.max(part.depth);
    }
    size
}

/// Refuses a document any of whose operations or fragments is over the limits (a
/// `TOO_COMPLEX` error), saying which.
pub fn check_document(document: &ExecutableDocument) -> Result<(), String> {
    let mut memo = HashMap::new();
    let operations = document
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|fragment| &fragment.node.selection_set.node);
    for selection_set in operations.chain(fragments) {
        check(measure_set(document, selection_set, &mut memo))?;
    }
    Ok(())
}

fn check(size: Size) -> Result<(), String> {
    if size.fields > MAX_FIELDS {
        return Err(format!(
            "the query selects {} fields once its fragments are expanded, more than the \
             limit of {MAX_FIELDS}",
            size.fields
        ));
    }
    if size.depth > MAX_DEPTH as u64 {
        return Err(format!(
            "the query nests {} levels deep once its fragments are expanded, more than the \
             limit of {MAX_DEPTH}",
            size.depth
        ));
    }
    Ok(())
}

/// Gives validation errors their codes: `TOO_COMPLEX` for the depth and complexity
/// limits, `QUERY_INVALID` for the rest.
pub struct ValidationCodes;

impl ExtensionFactory for ValidationCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidationCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ValidationCodes {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|mut error| {
                    // async-graphql's own wording of its limits; a test holds it.
                    let code = if error.message.contains("too complex")
                        || error.message.contains("nested too deep")
                    {
                        Code::TooComplex
                    } else {
                        Code::QueryInvalid
                    };
                    let extensions = error.extensions.get_or_insert_with(Default::default);
                    extensions.set("code", code.as_str());
                    error
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn size_of(query: &str) -> Size {
        let document = parse_query(query).expect("parses");
        let (_, operation) = document.operations.iter().next().expect("an operation");
        measure_set(
            &document,
            &operation.node.selection_set.node,
            &mut HashMap::new(),
        )
    }

    #[test]
    fn a_bomb_is_refused_even_in_an_operation_not_run() {
        let mut query = String::from(
            "query Small { __typename } query Big { ...F20 } fragment F0 on Query { __typename }",
        );
        for level in 1..=20 {
            query.push_str(&format!(
                " fragment F{level} on Query {{ ...F{0} ...F{0} }}",
                level - 1
            ));
        }
        let document = parse_query(&query).expect("parses");
        let refusal = check_document(&document).expect_err("refused");
        assert!(refusal.contains("fields"), "{refusal}");
        let fine = parse_query("query A { a } query B { b { c } }").expect("parses");
        assert_eq!(check_document(&fine), Ok(()));
    }

    #[test]
    fn fragments_count_every_time_they_are_spread() {
        assert_eq!(
            size_of("{ a b { c } }"),
            Size {
                fields: 3,
                depth: 2
            }
        );
        assert_eq!(
            size_of("query { ...F ...F } fragment F on Query { a { b } }"),
            Size {
                fields: 4,
                depth: 2
            }
        );
        // 26 levels of doubling: 2^26 fields, measured without expanding them.
        let mut query = String::from("query { ...F26 } fragment F0 on Query { __typename }");
        for level in 1..=26 {
            query.push_str(&format!(
                " fragment F{level} on Query {{ ...F{0} ...F{0} }}",
                level - 1
            ));
        }
        assert_eq!(size_of(&query).fields, 1 << 26);
        // A cycle measures as nothing (validation refuses it).
        assert_eq!(
            size_of("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            Size::default()
        );
    }
}
