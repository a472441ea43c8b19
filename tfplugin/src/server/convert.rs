//! Between the SDK's model and the generated protocol types. This is the
//! only place that knows both.

use crate::diag::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
use crate::proto::tfplugin6 as pb;
use crate::resource::{FunctionDef, Parameter};
use crate::schema::{
    Attribute, AttributeType, Block, BlockNesting, NestedBlock, ObjectNesting, Schema,
};
use crate::types::Type;
use crate::value::{self, Value};

pub fn schema(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block(&s.block)),
    }
}

fn block(b: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b.blocks.iter().map(nested_block).collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    let (ty, nested_type) = match &a.ty {
        AttributeType::Plain(t) => (t.to_json_bytes(), None),
        AttributeType::Nested {
            nesting,
            attributes,
        } => {
            let nesting = match nesting {
                ObjectNesting::Single => pb::schema::object::NestingMode::Single,
                ObjectNesting::List => pb::schema::object::NestingMode::List,
                ObjectNesting::Set => pb::schema::object::NestingMode::Set,
                ObjectNesting::Map => pb::schema::object::NestingMode::Map,
            };
            #[allow(deprecated)]
            let object = pb::schema::Object {
                attributes: attributes.iter().map(attribute).collect(),
                nesting: nesting as i32,
                min_items: 0,
                max_items: 0,
            };
            (Vec::new(), Some(object))
        }
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecated,
        write_only: a.write_only,
    }
}

fn nested_block(b: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode as M;
    let nesting = match b.nesting {
        BlockNesting::Single => M::Single,
        BlockNesting::List => M::List,
        BlockNesting::Set => M::Set,
        BlockNesting::Map => M::Map,
        BlockNesting::Group => M::Group,
    };
    pb::schema::NestedBlock {
        type_name: b.type_name.clone(),
        block: Some(block(&b.block)),
        nesting: nesting as i32,
        min_items: b.min_items,
        max_items: b.max_items,
    }
}

fn parameter(p: &Parameter) -> pb::function::Parameter {
    pb::function::Parameter {
        name: p.name.clone(),
        r#type: p.ty.to_json_bytes(),
        allow_null_value: p.allow_null,
        allow_unknown_values: p.allow_unknown,
        description: p.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
    }
}

pub fn function(f: &FunctionDef) -> pb::Function {
    pb::Function {
        parameters: f.parameters.iter().map(parameter).collect(),
        variadic_parameter: f.variadic.as_ref().map(parameter),
        r#return: Some(pb::function::Return {
            r#type: f.return_type.to_json_bytes(),
        }),
        summary: f.summary.clone(),
        description: f.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecation_message: f.deprecation_message.clone(),
    }
}

pub fn path(p: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .steps()
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(n) => Selector::AttributeName(n.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

pub fn diagnostics(d: Diagnostics) -> Vec<pb::Diagnostic> {
    d.into_vec().into_iter().map(diagnostic).collect()
}

fn diagnostic(d: Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error as i32,
            Severity::Warning => pb::diagnostic::Severity::Warning as i32,
        },
        summary: d.summary,
        detail: d.detail,
        attribute: d.path.as_ref().filter(|p| !p.is_root()).map(path),
    }
}

/// Decodes a DynamicValue; an absent or empty one is null, as in Terraform.
pub fn decode(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    if !dv.msgpack.is_empty() {
        value::from_msgpack(&dv.msgpack, ty)
            .map_err(|e| Diagnostic::error(format!("Invalid {what} from Terraform"), e.to_string()))
    } else if !dv.json.is_empty() {
        value::from_json_bytes(&dv.json, ty, false)
            .map_err(|e| Diagnostic::error(format!("Invalid {what} from Terraform"), e.to_string()))
    } else {
        Ok(Value::Null)
    }
}

pub fn encode(v: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostic> {
    value::to_msgpack(v, ty)
        .map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() })
        .map_err(|e| {
            Diagnostic::error(
                "Provider produced an invalid value",
                format!("The provider built a {what} that does not match its schema: {e}. This is a bug in the provider."),
            )
        })
}
