//! Planning: turning Terraform's proposed new state into the provider's plan.
//!
//! The rules follow Terraform's plan validity checks (see
//! `objchange/plan_valid.go`): only computed attributes may differ from the
//! configuration, and an unchanged resource must plan exactly its prior
//! state, or the plan shows a phantom update.

use crate::diag::{AttributePath, Diagnostics};
use crate::schema::{
    Attribute, AttributeType, Block, BlockNesting, NestedBlock, ObjectNesting, PlanModifier,
    PlanModifierRequest, PlanModifierResponse,
};
use crate::value::Value;

static NULL: Value = Value::Null;

/// The result of planning one resource instance.
pub struct PlannedChange {
    /// The planned new state.
    pub planned: Value,
    /// Attributes whose change replaces the resource.
    pub requires_replace: Vec<AttributePath>,
    /// What the plan modifiers reported.
    pub diags: Diagnostics,
}

/// Plans a create or an update (not a destroy) from the schema alone:
/// defaults, "known after apply" for computed attributes, then every
/// attribute's plan modifiers. Resource-specific logic runs afterwards.
///
/// Each rule applies at every level: to the attributes of the resource and
/// to those inside nested attributes and nested blocks. Nested objects are
/// matched with their configuration and prior state by position in a list,
/// by key in a map, and as the object itself when single. Set elements
/// cannot be matched (a changed element is a different element), so there
/// a default fills a null of the planned element, a computed null becomes
/// unknown, and plan modifiers are refused by the schema check.
pub fn plan_change(
    block: &Block,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> PlannedChange {
    let exists = !prior.is_null();
    let mut planned = proposed.clone();
    let mut out = Modified {
        exists,
        requires_replace: Vec::new(),
        diags: Diagnostics::new(),
    };

    for a in block.attributes.iter().filter(|a| a.write_only) {
        planned.set(&a.name, Value::Null);
    }
    apply_defaults(&block.attributes, &block.blocks, config, &mut planned);

    let changed = !exists || planned != *prior;
    if changed {
        mark_computed_unknown(&block.attributes, &block.blocks, config, &mut planned);
    } else {
        // Nothing to do: plan the prior state exactly.
        planned = prior.clone();
    }

    run_modifiers(
        &block.attributes,
        &block.blocks,
        &AttributePath::root(),
        config,
        prior,
        &mut planned,
        &mut out,
    );

    // A modifier may have restored every computed value, in which case the
    // plan is a no-op after all; keep it byte-identical to the prior state.
    if exists && planned == *prior {
        planned = prior.clone();
    }

    PlannedChange {
        planned,
        requires_replace: out.requires_replace,
        diags: out.diags,
    }
}

/// How nested objects sit in their parent value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nest {
    Single,
    List,
    Set,
    Map,
}

/// The nested attributes and blocks of one level, with their own children.
fn children<'s>(
    attrs: &'s [Attribute],
    blocks: &'s [NestedBlock],
) -> impl Iterator<Item = (&'s str, Nest, &'s [Attribute], &'s [NestedBlock])> {
    let nested_attrs = attrs.iter().filter_map(|a| match &a.ty {
        AttributeType::Nested {
            nesting,
            attributes,
        } => {
            let nest = match nesting {
                ObjectNesting::Single => Nest::Single,
                ObjectNesting::List => Nest::List,
                ObjectNesting::Set => Nest::Set,
                ObjectNesting::Map => Nest::Map,
            };
            Some((a.name.as_str(), nest, attributes.as_slice(), &[][..]))
        }
        AttributeType::Plain(_) => None,
    });
    let nested_blocks = blocks.iter().map(|b| {
        let nest = match b.nesting {
            BlockNesting::Single | BlockNesting::Group => Nest::Single,
            BlockNesting::List => Nest::List,
            BlockNesting::Set => Nest::Set,
            BlockNesting::Map => Nest::Map,
        };
        (
            b.type_name.as_str(),
            nest,
            b.block.attributes.as_slice(),
            b.block.blocks.as_slice(),
        )
    });
    nested_attrs.chain(nested_blocks)
}

fn attr_mut<'v>(v: &'v mut Value, name: &str) -> Option<&'v mut Value> {
    match v {
        Value::Object(m) => m.get_mut(name),
        _ => None,
    }
}

/// Calls `f` on each known object inside `planned` (an attribute or block
/// value nested as `nest`), with its path and its counterparts in `config`
/// and `prior`. A set element is its own configuration and has no prior.
fn each_object(
    nest: Nest,
    path: &AttributePath,
    planned: &mut Value,
    config: &Value,
    prior: &Value,
    f: &mut dyn FnMut(&AttributePath, &mut Value, &Value, &Value),
) {
    let skip = |v: &Value| v.is_null() || v.is_unknown();
    if skip(planned) {
        return;
    }
    match (nest, planned) {
        (Nest::Single, v) => f(path, v, config, prior),
        (Nest::List, Value::List(items)) => {
            for (i, item) in items.iter_mut().enumerate().filter(|(_, v)| !skip(v)) {
                let c = config.as_slice().and_then(|s| s.get(i)).unwrap_or(&NULL);
                let p = prior.as_slice().and_then(|s| s.get(i)).unwrap_or(&NULL);
                f(&path.index(i as i64), item, c, p);
            }
        }
        (Nest::Map, Value::Map(m)) => {
            for (k, item) in m.iter_mut().filter(|(_, v)| !skip(v)) {
                let c = config.as_map().and_then(|m| m.get(k)).unwrap_or(&NULL);
                let p = prior.as_map().and_then(|m| m.get(k)).unwrap_or(&NULL);
                f(&path.key(k), item, c, p);
            }
        }
        (Nest::Set, Value::Set(items)) => {
            for item in items.iter_mut().filter(|v| !skip(v)) {
                let own = item.clone();
                f(path, item, &own, &NULL);
            }
        }
        _ => {}
    }
}

/// Calls `f` on each object nested in this level (attributes `attrs`,
/// blocks `blocks`) that the configuration gives, with the object's
/// attributes, blocks and configuration.
fn each_configured_object(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    config: &Value,
    planned: &mut Value,
    f: fn(&[Attribute], &[NestedBlock], &Value, &mut Value),
) {
    for (name, nest, inner_attrs, inner_blocks) in children(attrs, blocks) {
        let c = config.get(name);
        if c.is_null() || c.is_unknown() {
            continue;
        }
        if let Some(slot) = attr_mut(planned, name) {
            each_object(
                nest,
                &AttributePath::root(),
                slot,
                c,
                &NULL,
                &mut |_, el, ec, _| f(inner_attrs, inner_blocks, ec, el),
            );
        }
    }
}

/// Defaults, wherever the configuration leaves an attribute null.
fn apply_defaults(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    config: &Value,
    planned: &mut Value,
) {
    for a in attrs {
        if config.get(&a.name).is_null()
            && let Some(d) = &a.default
        {
            planned.set(&a.name, d.clone());
        }
    }
    each_configured_object(attrs, blocks, config, planned, apply_defaults);
}

/// "Known after apply" for computed attributes the configuration leaves
/// null (a computed nested attribute becomes unknown as a whole).
fn mark_computed_unknown(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    config: &Value,
    planned: &mut Value,
) {
    for a in attrs {
        if a.computed && a.default.is_none() && config.get(&a.name).is_null() {
            planned.set(&a.name, Value::unknown());
        }
    }
    each_configured_object(attrs, blocks, config, planned, mark_computed_unknown);
}

struct Modified {
    exists: bool,
    requires_replace: Vec<AttributePath>,
    diags: Diagnostics,
}

/// Every attribute's plan modifiers, outer attributes before the ones
/// nested in them.
fn run_modifiers(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    path: &AttributePath,
    config: &Value,
    prior: &Value,
    planned: &mut Value,
    out: &mut Modified,
) {
    for a in attrs.iter().filter(|a| !a.plan_modifiers.is_empty()) {
        let path = path.attr(&a.name);
        let req = PlanModifierRequest {
            path: &path,
            config: config.get(&a.name),
            prior: prior.get(&a.name),
            resource_exists: out.exists,
        };
        let mut resp = PlanModifierResponse {
            planned: planned.get(&a.name).clone(),
            requires_replace: false,
            diags: Diagnostics::new(),
        };
        for m in &a.plan_modifiers {
            m.modify(&req, &mut resp);
        }
        planned.set(&a.name, resp.planned);
        out.diags.extend(resp.diags);
        if resp.requires_replace && out.exists {
            out.requires_replace.push(path);
        }
    }
    for (name, nest, inner_attrs, inner_blocks) in children(attrs, blocks) {
        // Refused by the schema check: set elements have no prior to match.
        if nest == Nest::Set {
            continue;
        }
        let (c, p) = (config.get(name), prior.get(name));
        if let Some(slot) = attr_mut(planned, name) {
            each_object(nest, &path.attr(name), slot, c, p, &mut |at, el, ec, ep| {
                run_modifiers(inner_attrs, inner_blocks, at, ec, ep, el, out)
            });
        }
    }
}

/// Any change to the attribute replaces the resource.
pub struct RequiresReplace;

impl PlanModifier for RequiresReplace {
    fn description(&self) -> String {
        "Changing this value replaces the resource.".into()
    }

    fn modify(&self, req: &PlanModifierRequest<'_>, resp: &mut PlanModifierResponse) {
        if !req.resource_exists {
            return;
        }
        // A computed value the user does not set is the provider's to change.
        if req.config.is_null() && resp.planned.is_unknown() {
            return;
        }
        if resp.planned != *req.prior {
            resp.requires_replace = true;
        }
    }
}

/// Replacement decided by a function of the prior and planned values.
pub struct RequiresReplaceIf<F> {
    /// Called with the prior and the planned value of a changed attribute;
    /// true replaces the resource.
    pub when: F,
    /// One sentence, for documentation.
    pub description: String,
}

impl<F> PlanModifier for RequiresReplaceIf<F>
where
    F: Fn(&Value, &Value) -> bool + Send + Sync,
{
    fn description(&self) -> String {
        self.description.clone()
    }

    fn modify(&self, req: &PlanModifierRequest<'_>, resp: &mut PlanModifierResponse) {
        if req.resource_exists
            && resp.planned != *req.prior
            && (self.when)(req.prior, &resp.planned)
        {
            resp.requires_replace = true;
        }
    }
}

/// Keeps the prior value of a computed attribute across updates instead of
/// showing "(known after apply)": for values that never change once set,
/// such as object ids.
pub struct UseStateForUnknown;

impl PlanModifier for UseStateForUnknown {
    fn description(&self) -> String {
        "Once set, the value does not change.".into()
    }

    fn modify(&self, req: &PlanModifierRequest<'_>, resp: &mut PlanModifierResponse) {
        if req.resource_exists
            && resp.planned.is_unknown()
            && req.config.is_null()
            && !req.prior.is_null()
        {
            resp.planned = req.prior.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> Block {
        Block::new()
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::string("tenant").required().requires_replace())
            .attribute(Attribute::string("etag").computed())
            .attribute(Attribute::bool("enabled").default(true))
    }

    fn obj(id: Value, name: &str, tenant: &str, etag: Value, enabled: Value) -> Value {
        Value::object([
            ("id", id),
            ("name", name.into()),
            ("tenant", tenant.into()),
            ("etag", etag),
            ("enabled", enabled),
        ])
    }

    #[test]
    fn create_marks_computed_unknown_and_applies_defaults() {
        let config = obj(Value::Null, "n", "t", Value::Null, Value::Null);
        let p = plan_change(&block(), &Value::Null, &config, &config);
        assert!(p.planned.get("id").is_unknown());
        assert!(p.planned.get("etag").is_unknown());
        assert_eq!(p.planned.get("enabled"), &Value::Bool(true));
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn unchanged_resource_plans_its_prior_state() {
        let prior = obj("i".into(), "n", "t", "e".into(), true.into());
        let config = obj(Value::Null, "n", "t", Value::Null, Value::Null);
        let p = plan_change(&block(), &prior, &prior, &config);
        assert_eq!(p.planned, prior);
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn update_keeps_ids_and_unknowns_the_rest() {
        let prior = obj("i".into(), "n", "t", "e".into(), true.into());
        let config = obj(Value::Null, "n2", "t", Value::Null, Value::Null);
        let proposed = obj("i".into(), "n2", "t", "e".into(), true.into());
        let p = plan_change(&block(), &prior, &proposed, &config);
        assert_eq!(p.planned.get("id").as_str(), Some("i"));
        assert!(p.planned.get("etag").is_unknown());
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn removing_an_optional_setting_returns_to_its_default() {
        let prior = obj("i".into(), "n", "t", "e".into(), false.into());
        let config = obj(Value::Null, "n", "t", Value::Null, Value::Null);
        let p = plan_change(&block(), &prior, &prior, &config);
        assert_eq!(p.planned.get("enabled"), &Value::Bool(true));
    }

    #[test]
    fn changing_a_replace_only_attribute_requires_replace() {
        let prior = obj("i".into(), "n", "t", "e".into(), true.into());
        let config = obj(Value::Null, "n", "t2", Value::Null, Value::Null);
        let proposed = obj("i".into(), "n", "t2", "e".into(), true.into());
        let p = plan_change(&block(), &prior, &proposed, &config);
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root().attr("tenant")]
        );
    }

    /// Attributes as they sit inside a nested object: a plain setting, one
    /// with a default, a stable computed id and a replace-only setting.
    fn inner() -> Vec<Attribute> {
        vec![
            Attribute::string("name").required(),
            Attribute::string("kind").default("a"),
            Attribute::string("nid").computed().use_state_for_unknown(),
            Attribute::string("zone").optional().requires_replace(),
        ]
    }

    fn el(name: &str, kind: Value, nid: Value, zone: &str) -> Value {
        Value::object([
            ("name", name.into()),
            ("kind", kind),
            ("nid", nid),
            ("zone", zone.into()),
        ])
    }

    fn cfg_el(name: &str, zone: &str) -> Value {
        el(name, Value::Null, Value::Null, zone)
    }

    fn nested_block(nesting: ObjectNesting) -> Block {
        Block::new()
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .attribute(Attribute::nested("items", nesting, inner()).optional())
    }

    fn with_items(id: Value, items: Value) -> Value {
        Value::object([("id", id), ("items", items)])
    }

    #[test]
    fn nested_single_create_applies_defaults_and_unknowns() {
        let config = with_items(Value::Null, cfg_el("n", "z"));
        let p = plan_change(
            &nested_block(ObjectNesting::Single),
            &Value::Null,
            &config,
            &config,
        );
        let items = p.planned.get("items");
        assert_eq!(items.get("kind").as_str(), Some("a"));
        assert!(items.get("nid").is_unknown());
        assert!(p.requires_replace.is_empty(), "no replace on create");
    }

    #[test]
    fn nested_single_update_keeps_ids_and_replaces_on_nested_change() {
        let b = nested_block(ObjectNesting::Single);
        let prior = with_items("i".into(), el("n", "a".into(), "x".into(), "z"));
        // Terraform's proposal keeps computed values from the prior object.
        let config = with_items(Value::Null, cfg_el("n2", "z"));
        let proposed = with_items("i".into(), el("n2", Value::Null, "x".into(), "z"));
        let p = plan_change(&b, &prior, &proposed, &config);
        assert_eq!(p.planned.get("items").get("nid").as_str(), Some("x"));
        assert_eq!(p.planned.get("items").get("kind").as_str(), Some("a"));
        assert!(p.requires_replace.is_empty());

        let config = with_items(Value::Null, cfg_el("n", "z2"));
        let proposed = with_items("i".into(), el("n", Value::Null, "x".into(), "z2"));
        let p = plan_change(&b, &prior, &proposed, &config);
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root().attr("items").attr("zone")]
        );
    }

    #[test]
    fn nested_list_matches_prior_by_position() {
        let b = nested_block(ObjectNesting::List);
        let prior = with_items(
            "i".into(),
            Value::List(vec![el("n", "a".into(), "x".into(), "z")]),
        );
        let config = with_items(
            Value::Null,
            Value::List(vec![cfg_el("n", "z2"), cfg_el("m", "z")]),
        );
        let proposed = with_items(
            "i".into(),
            Value::List(vec![
                el("n", Value::Null, "x".into(), "z2"),
                el("m", Value::Null, Value::Null, "z"),
            ]),
        );
        let p = plan_change(&b, &prior, &proposed, &config);
        let items = p.planned.get("items").as_slice().unwrap();
        assert_eq!(
            items[0].get("nid").as_str(),
            Some("x"),
            "kept from prior[0]"
        );
        assert!(items[1].get("nid").is_unknown(), "new element");
        assert_eq!(items[1].get("kind").as_str(), Some("a"));
        let items_path = AttributePath::root().attr("items");
        // The new element's zone goes from null to "z": a change, as in
        // terraform-plugin-framework.
        assert_eq!(
            p.requires_replace,
            vec![
                items_path.index(0).attr("zone"),
                items_path.index(1).attr("zone")
            ]
        );
    }

    #[test]
    fn nested_list_with_an_element_removed_plans_the_rest() {
        let b = nested_block(ObjectNesting::List);
        let prior = with_items(
            "i".into(),
            Value::List(vec![
                el("n", "a".into(), "x".into(), "z"),
                el("m", "a".into(), "y".into(), "z"),
            ]),
        );
        let config = with_items(Value::Null, Value::List(vec![cfg_el("n", "z")]));
        let proposed = with_items(
            "i".into(),
            Value::List(vec![el("n", Value::Null, "x".into(), "z")]),
        );
        let p = plan_change(&b, &prior, &proposed, &config);
        let items = p.planned.get("items").as_slice().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].get("nid").as_str(), Some("x"));
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn nested_map_matches_prior_by_key() {
        let b = nested_block(ObjectNesting::Map);
        let map = |entries: Vec<(&str, Value)>| {
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        };
        let prior = with_items(
            "i".into(),
            map(vec![("k", el("n", "a".into(), "x".into(), "z"))]),
        );
        let config = with_items(
            Value::Null,
            map(vec![("j", cfg_el("m", "z")), ("k", cfg_el("n2", "z"))]),
        );
        let proposed = with_items(
            "i".into(),
            map(vec![
                ("j", el("m", Value::Null, Value::Null, "z")),
                ("k", el("n2", Value::Null, "x".into(), "z")),
            ]),
        );
        let p = plan_change(&b, &prior, &proposed, &config);
        let items = p.planned.get("items");
        assert_eq!(items.get("k").get("nid").as_str(), Some("x"));
        assert!(items.get("j").get("nid").is_unknown());
        assert_eq!(items.get("j").get("kind").as_str(), Some("a"));
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root().attr("items").key("j").attr("zone")]
        );
    }

    #[test]
    fn nested_set_gets_defaults_and_unknowns_but_no_modifiers() {
        let b = Block::new().attribute(
            Attribute::nested(
                "items",
                ObjectNesting::Set,
                vec![
                    Attribute::string("name").required(),
                    Attribute::string("kind").default("a"),
                    Attribute::string("nid").computed(),
                ],
            )
            .optional(),
        );
        let e = |kind: Value, nid: Value| {
            Value::object([("name", "n".into()), ("kind", kind), ("nid", nid)])
        };
        let config = Value::object([("items", Value::Set(vec![e(Value::Null, Value::Null)]))]);
        let p = plan_change(&b, &Value::Null, &config, &config);
        let items = p.planned.get("items").as_slice().unwrap();
        assert_eq!(items[0].get("kind").as_str(), Some("a"));
        assert!(items[0].get("nid").is_unknown());
    }

    #[test]
    fn nested_blocks_get_defaults_and_modifiers() {
        let b = Block::new()
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .block(NestedBlock::single(
                "one",
                Block {
                    attributes: inner(),
                    ..Block::default()
                },
            ))
            .block(NestedBlock::list(
                "many",
                Block {
                    attributes: inner(),
                    ..Block::default()
                },
            ));
        let v = |id: Value, one: Value, many: Vec<Value>| {
            Value::object([("id", id), ("one", one), ("many", Value::List(many))])
        };
        let config = v(Value::Null, cfg_el("n", "z"), vec![cfg_el("m", "z")]);
        let p = plan_change(&b, &Value::Null, &config, &config);
        assert_eq!(p.planned.get("one").get("kind").as_str(), Some("a"));
        assert!(p.planned.get("one").get("nid").is_unknown());
        let many = p.planned.get("many").as_slice().unwrap();
        assert_eq!(many[0].get("kind").as_str(), Some("a"));

        let prior = v(
            "i".into(),
            el("n", "a".into(), "x".into(), "z"),
            vec![el("m", "a".into(), "y".into(), "z")],
        );
        let config = v(Value::Null, cfg_el("n", "z"), vec![cfg_el("m", "z2")]);
        let proposed = v(
            "i".into(),
            el("n", Value::Null, "x".into(), "z"),
            vec![el("m", Value::Null, "y".into(), "z2")],
        );
        let p = plan_change(&b, &prior, &proposed, &config);
        assert_eq!(p.planned.get("one").get("nid").as_str(), Some("x"));
        assert_eq!(
            p.planned.get("many").as_slice().unwrap()[0]
                .get("nid")
                .as_str(),
            Some("y")
        );
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root().attr("many").index(0).attr("zone")]
        );
    }

    #[test]
    fn unknown_nested_config_is_left_alone() {
        let b = nested_block(ObjectNesting::List);
        let prior = with_items(
            "i".into(),
            Value::List(vec![el("n", "a".into(), "x".into(), "z")]),
        );
        // The whole list is unknown: nothing inside can be planned.
        let config = with_items(Value::Null, Value::unknown());
        let proposed = with_items("i".into(), Value::unknown());
        let p = plan_change(&b, &prior, &proposed, &config);
        assert!(p.planned.get("items").is_unknown());
        assert!(p.requires_replace.is_empty());
        // One unknown setting: no default over it, and an unknown
        // replace-only value may change, so it replaces.
        let mut c = cfg_el("n", "z");
        c.set("kind", Value::unknown());
        c.set("zone", Value::unknown());
        let config = with_items(Value::Null, Value::List(vec![c.clone()]));
        let mut e = c;
        e.set("nid", "x".into());
        let proposed = with_items("i".into(), Value::List(vec![e]));
        let p = plan_change(&b, &prior, &proposed, &config);
        let items = p.planned.get("items").as_slice().unwrap();
        assert!(items[0].get("kind").is_unknown());
        assert_eq!(items[0].get("nid").as_str(), Some("x"));
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root().attr("items").index(0).attr("zone")]
        );
    }

    #[test]
    fn computed_nested_attribute_becomes_unknown_as_a_whole() {
        let b = Block::new()
            .attribute(Attribute::string("name").required())
            .attribute(
                Attribute::nested(
                    "status",
                    ObjectNesting::Single,
                    vec![Attribute::string("code").computed()],
                )
                .computed(),
            );
        let prior = Value::object([
            ("name", "n".into()),
            ("status", Value::object([("code", "ok".into())])),
        ]);
        let config = Value::object([("name", "n2".into()), ("status", Value::Null)]);
        let mut proposed = prior.clone();
        proposed.set("name", "n2".into());
        let p = plan_change(&b, &prior, &proposed, &config);
        assert!(p.planned.get("status").is_unknown());
        // Unchanged: the prior state exactly.
        let config = Value::object([("name", "n".into()), ("status", Value::Null)]);
        let p = plan_change(&b, &prior, &prior, &config);
        assert_eq!(p.planned, prior);
    }

    #[test]
    fn unknown_config_for_replace_only_attribute_requires_replace() {
        let prior = obj("i".into(), "n", "t", "e".into(), true.into());
        let config = obj(Value::Null, "n", "t", Value::Null, Value::Null);
        let mut proposed = prior.clone();
        proposed.set("tenant", Value::unknown());
        let mut cfg = config.clone();
        cfg.set("tenant", Value::unknown());
        let p = plan_change(&block(), &prior, &proposed, &cfg);
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root().attr("tenant")]
        );
    }
}
