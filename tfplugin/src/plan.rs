//! Planning: turning Terraform's proposed new state into the provider's plan.
//!
//! The rules follow Terraform's plan validity checks (see
//! `objchange/plan_valid.go`): only computed attributes may differ from the
//! configuration, and an unchanged resource must plan exactly its prior
//! state, or the plan shows a phantom update.

use crate::diag::{AttributePath, Diagnostics};
use crate::schema::{Block, PlanModifier, PlanModifierRequest, PlanModifierResponse};
use crate::value::Value;

/// The result of planning one resource instance.
pub struct PlannedChange {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub diags: Diagnostics,
}

/// Plans a create or an update (not a destroy) from the schema alone:
/// defaults, "known after apply" for computed attributes, then every
/// attribute's plan modifiers. Resource-specific logic runs afterwards.
pub fn plan_change(
    block: &Block,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> PlannedChange {
    let exists = !prior.is_null();
    let mut planned = proposed.clone();
    let mut diags = Diagnostics::new();
    let mut requires_replace = Vec::new();

    for a in &block.attributes {
        if a.write_only {
            planned.set(&a.name, Value::Null);
            continue;
        }
        if config.get(&a.name).is_null()
            && let Some(d) = &a.default
        {
            planned.set(&a.name, d.clone());
        }
    }

    let changed = !exists || planned != *prior;
    if changed {
        for a in &block.attributes {
            if a.computed && a.default.is_none() && config.get(&a.name).is_null() {
                planned.set(&a.name, Value::unknown());
            }
        }
    } else {
        // Nothing to do: plan the prior state exactly.
        planned = prior.clone();
    }

    for a in &block.attributes {
        if a.plan_modifiers.is_empty() {
            continue;
        }
        let path = AttributePath::root().attr(&a.name);
        let req = PlanModifierRequest {
            path: &path,
            config: config.get(&a.name),
            prior: prior.get(&a.name),
            resource_exists: exists,
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
        diags.extend(resp.diags);
        if resp.requires_replace && exists {
            requires_replace.push(path);
        }
    }

    // A modifier may have restored every computed value, in which case the
    // plan is a no-op after all; keep it byte-identical to the prior state.
    if exists && planned == *prior {
        planned = prior.clone();
    }

    PlannedChange {
        planned,
        requires_replace,
        diags,
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
    pub when: F,
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
    use crate::schema::Attribute;

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
