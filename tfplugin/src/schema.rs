//! Schemas: what a provider, resource or data source accepts and stores.
//!
//! Built with small builders (`Attribute::string("name").required()`), and
//! carrying behaviour as values: validators run at ValidateResourceConfig,
//! plan modifiers at PlanResourceChange, each with its attribute path.

use std::sync::Arc;

use crate::diag::{AttributePath, Diagnostics};
use crate::types::Type;
use crate::value::Value;

/// A resource, data source or provider schema.
#[derive(Clone, Default)]
pub struct Schema {
    /// State schema version; bump it when stored state needs an upgrade.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

impl Schema {
    /// A version-0 schema.
    pub fn new(block: Block) -> Schema {
        Schema { version: 0, block }
    }

    /// The same schema at state version `v`.
    #[must_use]
    pub fn version(mut self, v: i64) -> Schema {
        self.version = v;
        self
    }

    /// The object type of values that follow this schema.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

/// Attributes and nested blocks: the body of a schema or of a nested block.
#[derive(Clone, Default)]
pub struct Block {
    /// The attributes, in documentation order.
    pub attributes: Vec<Attribute>,
    /// The nested blocks.
    pub blocks: Vec<NestedBlock>,
    /// Markdown.
    pub description: String,
    /// Shown as deprecated by Terraform.
    pub deprecated: bool,
}

impl Block {
    /// An empty block.
    pub fn new() -> Block {
        Block::default()
    }

    /// The same block with a description (Markdown).
    #[must_use]
    pub fn description(mut self, md: impl Into<String>) -> Block {
        self.description = md.into();
        self
    }

    /// The same block with one more attribute.
    #[must_use]
    pub fn attribute(mut self, a: Attribute) -> Block {
        self.attributes.push(a);
        self
    }

    /// The same block with one more nested block.
    #[must_use]
    pub fn block(mut self, b: NestedBlock) -> Block {
        self.blocks.push(b);
        self
    }

    /// The attribute called `name`.
    pub fn get_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The object type of values of this block.
    pub fn value_type(&self) -> Type {
        let mut attrs: std::collections::BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.value_type()))
            .collect();
        for b in &self.blocks {
            attrs.insert(b.type_name.clone(), b.value_type());
        }
        Type::Object(attrs)
    }
}

/// How often a nested block may appear, and how its values are collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockNesting {
    /// At most once; null when absent.
    Single,
    /// A list, in configuration order.
    List,
    /// A set.
    Set,
    /// A map keyed by the block's label.
    Map,
    /// Exactly once, never null (an absent block has null attributes).
    Group,
}

/// A block inside a block (`timeouts { ... }`).
#[derive(Clone)]
pub struct NestedBlock {
    /// The block's name.
    pub type_name: String,
    /// Its body.
    pub block: Block,
    /// How its values are collected.
    pub nesting: BlockNesting,
    /// The fewest blocks allowed (0: no minimum).
    pub min_items: i64,
    /// The most blocks allowed (0: no maximum).
    pub max_items: i64,
}

impl NestedBlock {
    /// A block that appears at most once.
    pub fn single(name: impl Into<String>, block: Block) -> NestedBlock {
        NestedBlock {
            type_name: name.into(),
            block,
            nesting: BlockNesting::Single,
            min_items: 0,
            max_items: 0,
        }
    }

    /// A repeatable block, collected as a list.
    pub fn list(name: impl Into<String>, block: Block) -> NestedBlock {
        NestedBlock {
            type_name: name.into(),
            block,
            nesting: BlockNesting::List,
            min_items: 0,
            max_items: 0,
        }
    }

    /// A repeatable block, collected as a set.
    pub fn set(name: impl Into<String>, block: Block) -> NestedBlock {
        NestedBlock {
            type_name: name.into(),
            block,
            nesting: BlockNesting::Set,
            min_items: 0,
            max_items: 0,
        }
    }

    /// The same block with a minimum count.
    #[must_use]
    pub fn min_items(mut self, n: i64) -> NestedBlock {
        self.min_items = n;
        self
    }

    /// The same block with a maximum count.
    #[must_use]
    pub fn max_items(mut self, n: i64) -> NestedBlock {
        self.max_items = n;
        self
    }

    /// The type of the block's value in its parent object.
    pub fn value_type(&self) -> Type {
        let inner = self.block.value_type();
        match self.nesting {
            BlockNesting::Single | BlockNesting::Group => inner,
            BlockNesting::List => Type::list(inner),
            BlockNesting::Set => Type::set(inner),
            BlockNesting::Map => Type::map(inner),
        }
    }
}

/// How the objects of a nested attribute are collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectNesting {
    /// One object (`attr = { ... }`).
    Single,
    /// A list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects.
    Map,
}

/// The type of an attribute: a plain type, or nested attributes
/// (`attr = { ... }` / `attr = [{ ... }]`).
#[derive(Clone)]
pub enum AttributeType {
    /// A value of a cty type.
    Plain(Type),
    /// Objects with attributes of their own.
    Nested {
        /// How the objects are collected.
        nesting: ObjectNesting,
        /// The objects' attributes.
        attributes: Vec<Attribute>,
    },
}

/// Checks a known, non-null configuration value.
pub trait Validator: Send + Sync {
    /// One sentence, used in generated documentation.
    fn description(&self) -> String;
    /// Adds an error at `path` when `value` is not acceptable.
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);
}

/// What a plan modifier sees for one attribute.
pub struct PlanModifierRequest<'a> {
    /// Where the attribute is.
    pub path: &'a AttributePath,
    /// The attribute's configuration value (may be unknown).
    pub config: &'a Value,
    /// The attribute's prior state value; null when the resource is new.
    pub prior: &'a Value,
    /// Whether the resource exists already (false when creating).
    pub resource_exists: bool,
}

/// What a plan modifier changes; pre-filled with the plan so far.
pub struct PlanModifierResponse {
    /// The planned value, to be changed in place.
    pub planned: Value,
    /// Set to replace the resource (ignored when creating).
    pub requires_replace: bool,
    /// Empty on entry.
    pub diags: Diagnostics,
}

/// Adjusts one attribute's planned value (or asks for replacement).
pub trait PlanModifier: Send + Sync {
    /// One sentence, used in generated documentation.
    fn description(&self) -> String;
    /// Amends `resp` for the attribute described by `req`.
    fn modify(&self, req: &PlanModifierRequest<'_>, resp: &mut PlanModifierResponse);
}

/// One attribute of a block or nested object.
#[derive(Clone)]
pub struct Attribute {
    /// Its name (a-z, 0-9, _).
    pub name: String,
    /// Its type.
    pub ty: AttributeType,
    /// Markdown.
    pub description: String,
    /// The configuration must set it.
    pub required: bool,
    /// The configuration may set it.
    pub optional: bool,
    /// The provider may set it (alone, or when the configuration does not).
    pub computed: bool,
    /// Hidden in Terraform's output.
    pub sensitive: bool,
    /// Never stored in plan or state (Terraform 1.11+).
    pub write_only: bool,
    /// Shown as deprecated by Terraform.
    pub deprecated: bool,
    /// Planned when the configuration leaves the attribute null.
    pub default: Option<Value>,
    /// Checks of its configured value.
    pub validators: Vec<Arc<dyn Validator>>,
    /// Adjustments of its planned value.
    pub plan_modifiers: Vec<Arc<dyn PlanModifier>>,
}

impl Attribute {
    /// An attribute of type `ty`; say whether it is required, optional or computed.
    pub fn new(name: impl Into<String>, ty: Type) -> Attribute {
        Attribute {
            name: name.into(),
            ty: AttributeType::Plain(ty),
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: false,
            default: None,
            validators: Vec::new(),
            plan_modifiers: Vec::new(),
        }
    }

    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::String)
    }

    /// A bool attribute.
    pub fn bool(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::Bool)
    }

    /// A number attribute.
    pub fn number(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::Number)
    }

    /// Nested attributes (`attr = { ... }`, `attr = [{ ... }]`).
    pub fn nested(
        name: impl Into<String>,
        nesting: ObjectNesting,
        attributes: Vec<Attribute>,
    ) -> Attribute {
        let mut a = Attribute::new(name, Type::Dynamic);
        a.ty = AttributeType::Nested {
            nesting,
            attributes,
        };
        a
    }

    /// The configuration must set it.
    #[must_use]
    pub fn required(mut self) -> Attribute {
        self.required = true;
        self.optional = false;
        self.computed = false;
        self
    }

    /// The configuration may set it.
    #[must_use]
    pub fn optional(mut self) -> Attribute {
        self.optional = true;
        self.required = false;
        self
    }

    /// Set by the provider only.
    #[must_use]
    pub fn computed(mut self) -> Attribute {
        self.computed = true;
        self.required = false;
        self
    }

    /// Set by the user, or by the provider when the user leaves it out.
    #[must_use]
    pub fn optional_computed(self) -> Attribute {
        self.optional().computed()
    }

    /// Hidden in Terraform's output.
    #[must_use]
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }

    /// Never stored in plan or state.
    #[must_use]
    pub fn write_only(mut self) -> Attribute {
        self.write_only = true;
        self
    }

    /// Shown as deprecated.
    #[must_use]
    pub fn deprecated(mut self) -> Attribute {
        self.deprecated = true;
        self
    }

    /// Its documentation (Markdown).
    #[must_use]
    pub fn description(mut self, md: impl Into<String>) -> Attribute {
        self.description = md.into();
        self
    }

    /// A default makes the attribute optional and computed.
    #[must_use]
    pub fn default(mut self, v: impl Into<Value>) -> Attribute {
        self.default = Some(v.into());
        self.optional_computed()
    }

    /// One more check of its configured value.
    #[must_use]
    pub fn validator(mut self, v: impl Validator + 'static) -> Attribute {
        self.validators.push(Arc::new(v));
        self
    }

    /// One more adjustment of its planned value.
    #[must_use]
    pub fn plan_modifier(mut self, m: impl PlanModifier + 'static) -> Attribute {
        self.plan_modifiers.push(Arc::new(m));
        self
    }

    /// Shorthand for the most common modifier.
    #[must_use]
    pub fn requires_replace(self) -> Attribute {
        self.plan_modifier(crate::plan::RequiresReplace)
    }

    /// Keep the prior value instead of "known after apply" on updates.
    #[must_use]
    pub fn use_state_for_unknown(self) -> Attribute {
        self.plan_modifier(crate::plan::UseStateForUnknown)
    }

    /// The type of its value.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttributeType::Plain(t) => t.clone(),
            AttributeType::Nested {
                nesting,
                attributes,
            } => {
                let obj = Type::Object(
                    attributes
                        .iter()
                        .map(|a| (a.name.clone(), a.value_type()))
                        .collect(),
                );
                match nesting {
                    ObjectNesting::Single => obj,
                    ObjectNesting::List => Type::list(obj),
                    ObjectNesting::Set => Type::set(obj),
                    ObjectNesting::Map => Type::map(obj),
                }
            }
        }
    }
}

/// Internal consistency checks that Terraform would otherwise report as a
/// cryptic schema-load failure, or that the planning rules cannot honour.
/// Run by the server at start-up and in tests.
pub fn check_block(block: &Block, at: &str, errors: &mut Vec<String>) {
    check_level(&block.attributes, &block.blocks, at, false, errors);
}

/// One level of [`check_block`]; `in_set` when the level is inside a set.
fn check_level(
    attributes: &[Attribute],
    blocks: &[NestedBlock],
    at: &str,
    in_set: bool,
    errors: &mut Vec<String>,
) {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let mut seen = std::collections::BTreeSet::new();
    for a in attributes {
        let here = format!("{at}.{}", a.name);
        if !valid_name(&a.name) {
            errors.push(format!("{here}: names may contain only a-z, 0-9 and _"));
        }
        if !seen.insert(a.name.clone()) {
            errors.push(format!("{here}: declared twice"));
        }
        if !(a.required || a.optional || a.computed) {
            errors.push(format!("{here}: must be required, optional or computed"));
        }
        if a.required && (a.optional || a.computed) {
            errors.push(format!("{here}: required excludes optional and computed"));
        }
        if a.default.is_some() && !(a.optional && a.computed) {
            errors.push(format!("{here}: a default needs optional + computed"));
        }
        if in_set && !a.plan_modifiers.is_empty() {
            errors.push(format!(
                "{here}: plan modifiers are not supported inside a set (Terraform cannot match set elements to prior ones); put them on the set attribute or use a list"
            ));
        }
        if let AttributeType::Nested {
            nesting,
            attributes,
        } = &a.ty
        {
            let set = in_set || *nesting == ObjectNesting::Set;
            check_level(attributes, &[], &here, set, errors);
        }
    }
    for b in blocks {
        let here = format!("{at}.{}", b.type_name);
        if !valid_name(&b.type_name) {
            errors.push(format!("{here}: names may contain only a-z, 0-9 and _"));
        }
        if !seen.insert(b.type_name.clone()) {
            errors.push(format!("{here}: name used twice"));
        }
        let set = in_set || b.nesting == BlockNesting::Set;
        check_level(&b.block.attributes, &b.block.blocks, &here, set, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_type_includes_blocks_and_nested_attributes() {
        let b = Block::new()
            .attribute(Attribute::string("id").computed())
            .attribute(Attribute::nested(
                "status",
                ObjectNesting::Single,
                vec![Attribute::string("code").computed()],
            ))
            .block(NestedBlock::single(
                "timeouts",
                Block::new().attribute(Attribute::string("create").optional()),
            ));
        let t = b.value_type();
        assert_eq!(
            t,
            Type::object([
                ("id", Type::String),
                ("status", Type::object([("code", Type::String)])),
                ("timeouts", Type::object([("create", Type::String)])),
            ])
        );
    }

    #[test]
    fn schema_check_catches_mistakes() {
        let b = Block::new()
            .attribute(Attribute::string("Bad"))
            .attribute(Attribute::string("x").required())
            .attribute(Attribute::string("x").optional());
        let mut errors = Vec::new();
        check_block(&b, "r", &mut errors);
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn schema_check_refuses_plan_modifiers_inside_sets() {
        let inner = || {
            vec![
                Attribute::string("name").required().requires_replace(),
                Attribute::string("kind").default("a"),
            ]
        };
        let b = Block::new()
            .attribute(Attribute::nested("s", ObjectNesting::Set, inner()).optional())
            .attribute(Attribute::nested("l", ObjectNesting::List, inner()).optional())
            .block(NestedBlock::set(
                "blk",
                Block::new().attribute(
                    Attribute::nested("deep", ObjectNesting::Single, inner()).optional(),
                ),
            ));
        let mut errors = Vec::new();
        check_block(&b, "r", &mut errors);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("r.s.name: plan modifiers are not supported inside a set"));
        assert!(errors[1].starts_with("r.blk.deep.name: plan modifiers"));
    }
}
