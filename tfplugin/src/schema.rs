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
    pub block: Block,
}

impl Schema {
    pub fn new(block: Block) -> Schema {
        Schema { version: 0, block }
    }

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

#[derive(Clone, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    /// Markdown.
    pub description: String,
    pub deprecated: bool,
}

impl Block {
    pub fn new() -> Block {
        Block::default()
    }

    #[must_use]
    pub fn description(mut self, md: impl Into<String>) -> Block {
        self.description = md.into();
        self
    }

    #[must_use]
    pub fn attribute(mut self, a: Attribute) -> Block {
        self.attributes.push(a);
        self
    }

    #[must_use]
    pub fn block(mut self, b: NestedBlock) -> Block {
        self.blocks.push(b);
        self
    }

    pub fn get_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockNesting {
    Single,
    List,
    Set,
    Map,
    Group,
}

#[derive(Clone)]
pub struct NestedBlock {
    pub type_name: String,
    pub block: Block,
    pub nesting: BlockNesting,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn single(name: impl Into<String>, block: Block) -> NestedBlock {
        NestedBlock {
            type_name: name.into(),
            block,
            nesting: BlockNesting::Single,
            min_items: 0,
            max_items: 0,
        }
    }

    pub fn list(name: impl Into<String>, block: Block) -> NestedBlock {
        NestedBlock {
            type_name: name.into(),
            block,
            nesting: BlockNesting::List,
            min_items: 0,
            max_items: 0,
        }
    }

    pub fn set(name: impl Into<String>, block: Block) -> NestedBlock {
        NestedBlock {
            type_name: name.into(),
            block,
            nesting: BlockNesting::Set,
            min_items: 0,
            max_items: 0,
        }
    }

    #[must_use]
    pub fn min_items(mut self, n: i64) -> NestedBlock {
        self.min_items = n;
        self
    }

    #[must_use]
    pub fn max_items(mut self, n: i64) -> NestedBlock {
        self.max_items = n;
        self
    }

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectNesting {
    Single,
    List,
    Set,
    Map,
}

/// The type of an attribute: a plain type, or nested attributes
/// (`attr = { ... }` / `attr = [{ ... }]`).
#[derive(Clone)]
pub enum AttributeType {
    Plain(Type),
    Nested {
        nesting: ObjectNesting,
        attributes: Vec<Attribute>,
    },
}

/// Checks a known, non-null configuration value.
pub trait Validator: Send + Sync {
    /// One sentence, used in generated documentation.
    fn description(&self) -> String;
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);
}

/// What a plan modifier sees for one attribute.
pub struct PlanModifierRequest<'a> {
    pub path: &'a AttributePath,
    /// The attribute's configuration value (may be unknown).
    pub config: &'a Value,
    /// The attribute's prior state value; null when the resource is new.
    pub prior: &'a Value,
    /// Whether the resource exists already (false when creating).
    pub resource_exists: bool,
}

pub struct PlanModifierResponse {
    /// The planned value, to be changed in place.
    pub planned: Value,
    pub requires_replace: bool,
    pub diags: Diagnostics,
}

/// Adjusts one attribute's planned value (or asks for replacement).
pub trait PlanModifier: Send + Sync {
    fn description(&self) -> String;
    fn modify(&self, req: &PlanModifierRequest<'_>, resp: &mut PlanModifierResponse);
}

#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: AttributeType,
    /// Markdown.
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecated: bool,
    /// Planned when the configuration leaves the attribute null.
    pub default: Option<Value>,
    pub validators: Vec<Arc<dyn Validator>>,
    pub plan_modifiers: Vec<Arc<dyn PlanModifier>>,
}

impl Attribute {
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

    pub fn string(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::String)
    }

    pub fn bool(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::Bool)
    }

    pub fn number(name: impl Into<String>) -> Attribute {
        Attribute::new(name, Type::Number)
    }

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

    #[must_use]
    pub fn required(mut self) -> Attribute {
        self.required = true;
        self.optional = false;
        self.computed = false;
        self
    }

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

    #[must_use]
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }

    #[must_use]
    pub fn write_only(mut self) -> Attribute {
        self.write_only = true;
        self
    }

    #[must_use]
    pub fn deprecated(mut self) -> Attribute {
        self.deprecated = true;
        self
    }

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

    #[must_use]
    pub fn validator(mut self, v: impl Validator + 'static) -> Attribute {
        self.validators.push(Arc::new(v));
        self
    }

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
/// cryptic schema-load failure. Run by the server at start-up and in tests.
pub fn check_block(block: &Block, at: &str, errors: &mut Vec<String>) {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let mut seen = std::collections::BTreeSet::new();
    for a in &block.attributes {
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
        if let AttributeType::Nested { attributes, .. } = &a.ty {
            check_block(
                &Block {
                    attributes: attributes.clone(),
                    ..Block::default()
                },
                &here,
                errors,
            );
        }
    }
    for b in &block.blocks {
        let here = format!("{at}.{}", b.type_name);
        if !valid_name(&b.type_name) {
            errors.push(format!("{here}: names may contain only a-z, 0-9 and _"));
        }
        if !seen.insert(b.type_name.clone()) {
            errors.push(format!("{here}: name used twice"));
        }
        check_block(&b.block, &here, errors);
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
}
