//! Registry-style documentation, generated from the schemas.
//!
//! `docs/` is rendered from the same schema descriptions Terraform shows,
//! plus the examples under `examples/` (the provider page's guide is
//! `examples/provider/guide.md`), the Graph permissions of
//! `crate::permissions` and the per-type facts below (import id). A test renders everything and fails when
//! a page is missing or differs, so the docs cannot drift from the code;
//! `UPDATE_DOCS=1 cargo test -p terraform-provider-mto --test docs`
//! rewrites them.

use std::path::Path;

use tfplugin::schema::{AttributeType, BlockNesting, ObjectNesting};
use tfplugin::{Attribute, Block, FunctionDef, Schema, Type};

/// Facts about a type that its schema does not carry (its Graph permissions
/// are in `crate::permissions`, where the plan-time check reads them).
pub struct TypeFacts {
    pub type_name: &'static str,
    /// Permissions used beyond the checked ones, e.g. in other tenants.
    pub permission_note: Option<&'static str>,
    /// The import id, for resources.
    pub import_id: Option<&'static str>,
}

pub const RESOURCES: &[TypeFacts] = &[
    TypeFacts {
        type_name: "mto_organization",
        permission_note: None,
        import_id: Some("`<owner tenant id>`"),
    },
    TypeFacts {
        type_name: "mto_member_tenant",
        permission_note: None,
        import_id: Some("`<owner tenant id>/<member tenant id>`"),
    },
    TypeFacts {
        type_name: "mto_join_request",
        permission_note: None,
        import_id: Some("`<joining tenant id>`"),
    },
    TypeFacts {
        type_name: "mto_policy_templates",
        permission_note: None,
        import_id: Some("`<tenant id>`"),
    },
    TypeFacts {
        type_name: "mto_inbound_acceptance",
        permission_note: None,
        import_id: Some("`<receiving tenant id>/<source tenant id>`"),
    },
    TypeFacts {
        type_name: "mto_outbound_share",
        permission_note: Some(
            "`User.Read.All` and `GroupMember.Read.All` let the plan check the shared users and groups before anything is applied (a typo'd id, a guest, a group in `user_ids`); without them the plan only warns that it could not check.",
        ),
        import_id: Some(
            "`<sharing tenant id>/<target tenant id>` (finds the configuration named `MTO_Sync_<target tenant id>`) or `<sharing tenant id>/<target tenant id>/<service principal id>`",
        ),
    },
    TypeFacts {
        type_name: "mto_sync_job",
        permission_note: None,
        import_id: Some(
            "`<sharing tenant id>/<target tenant id>` (the job of the configuration named `MTO_Sync_<target tenant id>`, found as the share's import finds it) or `<tenant id>/<service principal id>/<job id>`. The import manages, as `attribute_mapping` blocks, every mapping that differs from the job template's default (ordered by target attribute); `userType` and `showInAddressList` are read by `user_type` and `show_in_address_list`",
        ),
    },
];

pub const DATA_SOURCES: &[TypeFacts] = &[
    TypeFacts {
        type_name: "mto_configured_tenants",
        permission_note: None,
        import_id: None,
    },
    TypeFacts {
        type_name: "mto_organization",
        permission_note: None,
        import_id: None,
    },
    TypeFacts {
        type_name: "mto_users",
        permission_note: Some(
            "`Organization.Read.All` in every other configured tenant lets it name the tenant B2B users come from; without it `source_tenant_id` stays null.",
        ),
        import_id: None,
    },
    TypeFacts {
        type_name: "mto_sync_job",
        permission_note: None,
        import_id: None,
    },
    TypeFacts {
        type_name: "mto_inventory",
        permission_note: None,
        import_id: None,
    },
];

fn type_label(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_label(e)),
        Type::Set(e) => format!("Set of {}", type_label(e)),
        Type::Map(e) => format!("Map of {}", type_label(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

fn attribute_label(a: &Attribute) -> String {
    match &a.ty {
        AttributeType::Plain(t) => type_label(t),
        AttributeType::Nested { nesting, .. } => match nesting {
            ObjectNesting::Single => "Attributes".into(),
            ObjectNesting::List => "Attributes List".into(),
            ObjectNesting::Set => "Attributes Set".into(),
            ObjectNesting::Map => "Attributes Map".into(),
        },
    }
}

fn one_line(a: &Attribute, anchor_prefix: &str) -> String {
    let mut notes = Vec::new();
    if a.sensitive {
        notes.push("Sensitive".to_owned());
    }
    if a.plan_modifiers
        .iter()
        .any(|m| m.description().contains("replaces the resource"))
    {
        notes.push("Changing it replaces the resource".to_owned());
    }
    if let Some(d) = &a.default {
        notes.push(format!("Default: `{}`", tfplugin::value::to_json_value(d)));
    }
    for v in &a.validators {
        notes.push(v.description().trim_end_matches('.').to_owned());
    }
    let mut line = format!("- `{}` ({}", a.name, attribute_label(a));
    if !notes.is_empty() {
        line.push_str(&format!(", {}", notes.join("; ")));
    }
    line.push_str(&format!(") {}", a.description.trim()));
    if matches!(a.ty, AttributeType::Nested { .. }) {
        line.push_str(&format!(
            " (see [below for nested schema](#nestedatt--{anchor_prefix}{}))",
            a.name
        ));
    }
    line
}

fn render_block(out: &mut String, block: &Block, anchor_prefix: &str) {
    let required: Vec<&Attribute> = block.attributes.iter().filter(|a| a.required).collect();
    let optional: Vec<&Attribute> = block.attributes.iter().filter(|a| a.optional).collect();
    let computed: Vec<&Attribute> = block
        .attributes
        .iter()
        .filter(|a| a.computed && !a.optional)
        .collect();
    let mut nested = Vec::new();
    for (title, attrs) in [
        ("Required", &required),
        ("Optional", &optional),
        ("Read-Only", &computed),
    ] {
        let blocks: Vec<_> = if title == "Optional" {
            block.blocks.iter().collect()
        } else {
            Vec::new()
        };
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        out.push_str(&format!("### {title}\n\n"));
        for a in attrs.iter() {
            out.push_str(&one_line(a, anchor_prefix));
            out.push('\n');
            if let AttributeType::Nested { attributes, .. } = &a.ty {
                nested.push((
                    a.name.clone(),
                    Block {
                        attributes: attributes.clone(),
                        ..Block::default()
                    },
                ));
            }
        }
        for b in blocks {
            let kind = match b.nesting {
                BlockNesting::Single | BlockNesting::Group => "Block",
                BlockNesting::List => "Block List",
                BlockNesting::Set => "Block Set",
                BlockNesting::Map => "Block Map",
            };
            out.push_str(&format!(
                "- `{}` ({kind}) {} (see [below for nested schema](#nestedblock--{anchor_prefix}{}))\n",
                b.type_name,
                b.block.description.trim(),
                b.type_name
            ));
            nested.push((b.type_name.clone(), b.block.clone()));
        }
        out.push('\n');
    }
    for (name, b) in nested {
        out.push_str(&format!("<a id=\"nestedatt--{anchor_prefix}{name}\"></a>\n<a id=\"nestedblock--{anchor_prefix}{name}\"></a>\n"));
        out.push_str(&format!(
            "### Nested Schema for `{anchor_prefix}{name}`\n\n"
        ));
        let mut inner = String::new();
        render_block(&mut inner, &b, &format!("{anchor_prefix}{name}--"));
        out.push_str(&inner.replace("### ", "#### "));
    }
}

fn read_example(root: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(root.join(rel))
        .ok()
        .map(|s| s.trim_end().to_owned())
}

/// Renders a resource (`data_source` false) or data source page.
pub fn render_type(root: &Path, facts: &TypeFacts, schema: &Schema, data_source: bool) -> String {
    let kind = if data_source {
        "Data Source"
    } else {
        "Resource"
    };
    let dir = if data_source {
        "data-sources"
    } else {
        "resources"
    };
    let file = if data_source {
        "data-source.tf"
    } else {
        "resource.tf"
    };
    let first_sentence = schema
        .block
        .description
        .split(". ")
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .replace('"', "'");
    let mut out = format!(
        "---\npage_title: \"{name} {kind} - mto\"\nsubcategory: \"\"\ndescription: |-\n  {first_sentence}.\n---\n\n# {name} ({kind})\n\n{desc}\n\n",
        name = facts.type_name,
        desc = schema.block.description.trim()
    );
    if let Some(example) = read_example(root, &format!("examples/{dir}/{}/{file}", facts.type_name))
    {
        out.push_str(&format!(
            "## Example Usage\n\n```terraform\n{example}\n```\n\n"
        ));
    }
    out.push_str("## Schema\n\n");
    render_block(&mut out, &schema.block, "");
    out.push_str("## Graph permissions\n\n");
    let permissions = if data_source {
        crate::permissions::for_data_source(facts.type_name)
    } else {
        crate::permissions::for_resource(facts.type_name)
    };
    if permissions.is_empty() {
        out.push_str("None: no Graph call is made.\n\n");
    } else {
        out.push_str("Application permissions (with admin consent) of the app registration in the tenant named by `tenant_id`, checked when the plan is made:\n\n");
        for p in permissions {
            out.push_str(&format!("- `{p}`\n"));
        }
        out.push('\n');
    }
    if let Some(note) = facts.permission_note {
        out.push_str(&format!("{note}\n\n"));
    }
    let definition = crate::resources::DEFINITIONS
        .iter()
        .find(|d| d.type_name == facts.type_name);
    if let Some(d) = definition.filter(|_| !data_source) {
        out.push_str(&format!(
            "## Objects this provider did not create\n\n{adoption}\n\nWhen the object it manages, {object}, was imported or adopted at create, the plan that destroys the resource warns that it may be someone else's work. Destroying it {what}\n\n",
            adoption = d.adoption,
            object = d.identity.object,
            what = d.unowned_destroy,
        ));
    }
    if let Some(id) = facts.import_id {
        out.push_str(&format!("## Import\n\nImport id: {id}.\n\n"));
        if let Some(sh) = read_example(
            root,
            &format!("examples/resources/{}/import.sh", facts.type_name),
        ) {
            out.push_str(&format!("```shell\n{sh}\n```\n"));
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Renders a provider function page.
pub fn render_function(root: &Path, name: &str, def: &FunctionDef) -> String {
    let mut out = format!(
        "---\npage_title: \"{name} function - mto\"\nsubcategory: \"\"\ndescription: |-\n  {summary}\n---\n\n# function: {name}\n\n{desc}\n\n",
        summary = def.summary,
        desc = def.description.trim()
    );
    if let Some(example) = read_example(root, &format!("examples/functions/{name}/function.tf")) {
        out.push_str(&format!(
            "## Example Usage\n\n```terraform\n{example}\n```\n\n"
        ));
    }
    let params: Vec<String> = def
        .parameters
        .iter()
        .map(|p| format!("{} {}", p.name, p.ty))
        .collect();
    out.push_str(&format!(
        "## Signature\n\n```text\n{name}({}) {}\n```\n\n## Arguments\n\n",
        params.join(", "),
        def.return_type
    ));
    for (i, p) in def.parameters.iter().enumerate() {
        out.push_str(&format!(
            "{}. `{}` ({}) {}\n",
            i + 1,
            p.name,
            type_label(&p.ty),
            p.description
        ));
    }
    out
}

/// Renders `docs/index.md`: the provider page.
pub fn render_index(root: &Path, schema: &Schema) -> String {
    let mut out = String::from(
        "---\npage_title: \"mto Provider\"\ndescription: |-\n  Microsoft Entra multi-tenant organizations and cross-tenant synchronization.\n---\n\n# mto Provider\n\n",
    );
    out.push_str(schema.block.description.trim());
    out.push_str("\n\n");
    let guide = read_example(root, "examples/provider/guide.md").unwrap_or_default();
    out.push_str(&guide.replace(PERMISSIONS_MARK, &permissions_table()));
    out.push_str("\n\n");
    if let Some(example) = read_example(root, "examples/provider/provider.tf") {
        out.push_str(&format!(
            "## Example Usage\n\n```terraform\n{example}\n```\n\n"
        ));
    }
    out.push_str("## Schema\n\n");
    render_block(&mut out, &schema.block, "");
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Where `examples/provider/guide.md` wants the permissions table.
const PERMISSIONS_MARK: &str = "<!-- permissions table -->";

/// Every resource's and data source's Graph permissions, in one table.
pub fn permissions_table() -> String {
    let mut out = String::from(
        "| type | kind | Graph application permissions in its tenant |\n|---|---|---|\n",
    );
    for (rows, kind) in [
        (crate::permissions::RESOURCES, "resource"),
        (crate::permissions::DATA_SOURCES, "data source"),
    ] {
        for (name, perms) in rows {
            let list = if perms.is_empty() {
                "none (no Graph call)".to_owned()
            } else {
                perms
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!("| `{name}` | {kind} | {list} |\n"));
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_labels() {
        assert_eq!(type_label(&Type::set(Type::String)), "Set of String");
        assert_eq!(
            type_label(&Type::list(Type::object([("a", Type::String)]))),
            "List of Object"
        );
    }
}
