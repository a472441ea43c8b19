//! Managed resources, one module each, and the contract they share.
//!
//! Every resource of this provider acts in one tenant, named by its
//! `tenant_id` (checked at plan time against the provider block's
//! credentials and against the Graph permissions its token grants, see
//! `crate::permissions`), and can be imported. [`MtoResource`] states that contract
//! with handlers that return `Result`, so a failed Graph call ends a handler
//! with `?`; [`Adapter`] turns any `MtoResource` into a `tfplugin::Resource`
//! with the matching capabilities, so no resource repeats the wiring.

pub mod common;
pub mod inbound_acceptance;
pub mod join_request;
pub mod member_tenant;
pub mod organization;
pub mod outbound_share;
pub mod policy_templates;
pub mod prelude;
pub mod scoping;
pub mod sync_job;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tfplugin::{
    CreateRequest, CreateResponse, Ctx, DeleteRequest, DeleteResponse, Diagnostics, ImportRequest,
    ImportResponse, ImportState, ModifyPlan, ModifyPlanRequest, ModifyPlanResponse, Private,
    ReadRequest, ReadResponse, Resource, Schema, UpdateRequest, UpdateResponse, ValidateConfig,
    ValidateConfigRequest, ValidateConfigResponse, Value,
};

use crate::Client;
pub use crate::operation::{Op, Outcome};

/// Every resource's definition, for what is rendered from them (docs).
pub static DEFINITIONS: &[Definition] = &[
    organization::DEFINITION,
    member_tenant::DEFINITION,
    join_request::DEFINITION,
    policy_templates::DEFINITION,
    inbound_acceptance::DEFINITION,
    outbound_share::DEFINITION,
    sync_job::DEFINITION,
];

/// Default time each operation may take; the `timeouts` block overrides
/// create, update and delete.
#[derive(Clone, Copy)]
pub struct Timeouts {
    pub create: Duration,
    pub read: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Timeouts {
    /// Defaults in minutes.
    pub const fn minutes(create: u64, read: u64, update: u64, delete: u64) -> Timeouts {
        Timeouts {
            create: Duration::from_secs(create * 60),
            read: Duration::from_secs(read * 60),
            update: Duration::from_secs(update * 60),
            delete: Duration::from_secs(delete * 60),
        }
    }

    /// The `timeouts` block for a schema (read has no attribute: Terraform
    /// offers no way to wait longer for a refresh).
    pub fn block(&self) -> tfplugin::NestedBlock {
        common::timeouts_block(&[
            ("create", self.create),
            ("update", self.update),
            ("delete", self.delete),
        ])
    }
}

/// What Terraform knows of a resource type besides its behaviour: its
/// name, schema and default timeouts. Each resource module declares one
/// beside its schema; the provider registers it with the resource.
#[derive(Clone, Copy)]
pub struct Definition {
    /// The full type name, e.g. `mto_organization`.
    pub type_name: &'static str,
    pub schema: fn() -> Schema,
    pub timeouts: Timeouts,
    /// The Graph object the resource manages and the attributes that name it.
    pub identity: Identity,
    /// What destroying does to an object this provider did not create
    /// (imported, or found at create): what it deletes or resets, and what
    /// stays. Completes "Destroying it …"; the plan shows it as a warning.
    pub unowned_destroy: &'static str,
    /// What a create does when its object already exists, and how it tells
    /// an interrupted apply of its own from someone else's work (the marker,
    /// where Graph offers one). Whole sentences.
    pub adoption: &'static str,
}

/// The Graph object a resource manages, named by some of its attributes.
/// Two resources of one type whose attributes name the same object (GUIDs
/// compared ignoring case, as Graph does) are refused at plan.
#[derive(Clone, Copy)]
pub struct Identity {
    /// What the object is, for messages: "the multi-tenant organization".
    pub object: &'static str,
    /// The attributes that name it; unset optional ones count as empty.
    pub attributes: &'static [&'static str],
}

/// An update: the plan and the prior state as models, and as values for
/// what a model cannot say (which computed attributes the plan left
/// unknown).
pub struct Change<'a, S> {
    pub planned: S,
    pub prior: S,
    planned_value: &'a Value,
    prior_value: &'a Value,
}

impl<S> Change<'_, S> {
    /// The plan with every value it left unknown taken from the prior
    /// state: the new state of an update that changed nothing computed.
    pub fn planned_with_prior(&self) -> Value {
        let mut v = self.planned_value.clone();
        v.fill_unknowns_from(self.prior_value);
        v
    }
}

/// The operation of an update: the change between plan and prior state.
pub type Update<'a, S> = Op<'a, Change<'a, S>>;

/// A resource of this provider. Its handlers get the request decoded into
/// the resource's state model and the Graph API of its tenant; the
/// responses come pre-filled as `tfplugin` documents them (prior state,
/// private data).
#[tfplugin::async_trait]
pub trait MtoResource: Send + Sync + 'static {
    /// The resource's attributes as a serde model.
    type State: Serialize + DeserializeOwned + Send + Sync;

    /// Creates the object. [`common::mark_created`] has already recorded
    /// the time in the response's private data.
    async fn create(&self, op: Op<'_, Self::State>, resp: &mut CreateResponse) -> Outcome;

    async fn read(&self, op: Op<'_, Self::State>, resp: &mut ReadResponse) -> Outcome;

    async fn update(&self, op: Update<'_, Self::State>, resp: &mut UpdateResponse) -> Outcome;

    async fn delete(&self, op: Op<'_, Self::State>, resp: &mut DeleteResponse) -> Outcome;

    /// Turns an import id into a state that `read` completes.
    async fn import(&self, ctx: &Ctx<'_, Client>, id: &str, resp: &mut ImportResponse) -> Outcome;

    /// Checks across attributes, beyond the schema's validators.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Plan adjustments for a create or an update, after the check that
    /// `tenant_id` is configured.
    async fn plan(
        &self,
        _ctx: &Ctx<'_, Client>,
        _req: &ModifyPlanRequest<'_>,
        _resp: &mut ModifyPlanResponse,
    ) {
    }

    /// Warnings for a planned destroy of `prior`, beyond the one every
    /// resource gives for an object it did not create.
    fn plan_destroy(&self, _prior: &Value, _diags: &mut Diagnostics) {}
}

/// An [`MtoResource`] with its [`Definition`], as Terraform sees it
/// through `tfplugin`.
pub struct Adapter<R> {
    definition: Definition,
    resource: R,
}

impl<R: MtoResource> Adapter<R> {
    pub fn new(definition: Definition, resource: R) -> Adapter<R> {
        Adapter {
            definition,
            resource,
        }
    }

    /// The operation on the resource whose value is `v`, with the timeout
    /// its `timeouts` block (or the resource's default) gives `operation`.
    fn begin<'a>(
        &self,
        ctx: &'a Ctx<'a, Client>,
        v: &Value,
        private: &'a Private,
        operation: &str,
    ) -> Result<Op<'a, R::State>, Diagnostics> {
        let defaults = &self.definition.timeouts;
        let default = match operation {
            "create" => defaults.create,
            "update" => defaults.update,
            "delete" => defaults.delete,
            _ => defaults.read,
        };
        let timeout = tfplugin::timeouts::get(v, operation, default);
        let tenant = v.get("tenant_id").as_str().unwrap_or_default();
        if operation != "create" && !ctx.client.graph.has_tenant(tenant) {
            return Err(no_longer_configured(self.definition.type_name, tenant).into());
        }
        Op::begin(ctx, v, private, timeout)
    }
}

/// A resource in state whose tenant the provider block no longer has
/// credentials for: what happened, and the two ways out.
fn no_longer_configured(type_name: &str, tenant: &str) -> tfplugin::Diagnostic {
    tfplugin::Diagnostic::error(
        "Tenant not configured",
        format!(
            "This {type_name} is in the state and acts in tenant {tenant}, but the provider block no longer has credentials \
             for that tenant. Terraform needs them to refresh the resource and to destroy it.\n\n\
             To retire a tenant, do it in two changes: first remove the tenant from the list your resources are built from \
             (keep its `tenant` block) and apply — that destroys its shares, acceptances and membership with its own \
             credentials; then remove its `tenant` block. To forget the resource without touching Graph instead: \
             terraform state rm <address>."
        ),
    )
    .at(tfplugin::AttributePath::root().attr("tenant_id"))
}

#[tfplugin::async_trait]
impl<R: MtoResource> Resource<Client> for Adapter<R> {
    fn type_name(&self) -> &'static str {
        self.definition.type_name
    }

    fn schema(&self) -> Schema {
        (self.definition.schema)()
    }

    async fn create(
        &self,
        ctx: &Ctx<'_, Client>,
        req: CreateRequest<'_>,
        resp: &mut CreateResponse,
    ) {
        common::mark_created(&mut resp.private);
        let outcome = match self.begin(ctx, req.planned, req.private, "create") {
            Ok(op) => self.resource.create(op, resp).await,
            Err(d) => Err(d),
        };
        resp.diags.take_err(outcome);
        if !common::created_here(&resp.private) {
            let d = &self.definition;
            resp.diags.warning(
                "Took over an existing object",
                format!(
                    "This {} found {} already there and manages it now. {} Destroying it {}",
                    d.type_name, d.identity.object, d.adoption, d.unowned_destroy
                ),
            );
        }
    }

    async fn read(&self, ctx: &Ctx<'_, Client>, req: ReadRequest<'_>, resp: &mut ReadResponse) {
        let outcome = match self.begin(ctx, req.state, req.private, "read") {
            Ok(op) => self.resource.read(op, resp).await,
            Err(d) => Err(d),
        };
        resp.diags.take_err(outcome);
    }

    async fn update(
        &self,
        ctx: &Ctx<'_, Client>,
        req: UpdateRequest<'_>,
        resp: &mut UpdateResponse,
    ) {
        if self.only_identity_case_changed(req.prior, req.planned) {
            // Graph sees no change: record the new spelling only.
            let mut state = req.planned.clone();
            state.fill_unknowns_from(req.prior);
            resp.state = state;
            return;
        }
        let outcome = match (
            self.begin(ctx, req.planned, req.private, "update"),
            crate::model(req.prior),
        ) {
            (Ok(op), Ok(prior)) => {
                let op = Op {
                    state: Change {
                        planned: op.state,
                        prior,
                        planned_value: req.planned,
                        prior_value: req.prior,
                    },
                    api: op.api,
                    ctx: op.ctx,
                    private: op.private,
                };
                self.resource.update(op, resp).await
            }
            (Err(d), _) => Err(d),
            (_, Err(d)) => Err(d.into()),
        };
        resp.diags.take_err(outcome);
    }

    async fn delete(
        &self,
        ctx: &Ctx<'_, Client>,
        req: DeleteRequest<'_>,
        resp: &mut DeleteResponse,
    ) {
        let outcome = match self.begin(ctx, req.prior, req.private, "delete") {
            Ok(op) => self.resource.delete(op, resp).await,
            Err(d) => Err(d),
        };
        resp.diags.take_err(outcome);
    }

    fn config_validator(&self) -> Option<&dyn ValidateConfig> {
        Some(self)
    }

    fn plan_modifier(&self) -> Option<&dyn ModifyPlan<Client>> {
        Some(self)
    }

    fn importer(&self) -> Option<&dyn ImportState<Client>> {
        Some(self)
    }
}

#[tfplugin::async_trait]
impl<R: MtoResource> ValidateConfig for Adapter<R> {
    async fn validate_config(
        &self,
        req: ValidateConfigRequest<'_>,
        resp: &mut ValidateConfigResponse,
    ) {
        self.resource.validate(req.config, &mut resp.diags);
    }
}

#[tfplugin::async_trait]
impl<R: MtoResource> ModifyPlan<Client> for Adapter<R> {
    async fn modify_plan(
        &self,
        ctx: &Ctx<'_, Client>,
        req: ModifyPlanRequest<'_>,
        resp: &mut ModifyPlanResponse,
    ) {
        // A destroy has no configuration: its tenant is the prior state's.
        let state = if req.is_destroy() {
            req.prior
        } else {
            req.config
        };
        let tenant = state.get("tenant_id").as_str();
        let kind = crate::permissions::Kind::Resource;
        if let Some(d) =
            crate::permissions::check(ctx.client, kind, self.definition.type_name, tenant)
        {
            resp.diags.push(d);
        }
        if req.is_destroy() {
            if !common::created_here(&resp.private) {
                resp.diags.push(self.unowned_destroy_warning(req.prior));
            }
            self.resource.plan_destroy(req.prior, &mut resp.diags);
            return;
        }
        common::check_tenants(ctx, req.config, &["tenant_id"], &mut resp.diags);
        if let Some(d) = self.check_claim(ctx.client, req.config) {
            resp.diags.push(d);
        }
        self.resource.plan(ctx, &req, resp).await;
    }
}

impl<R: MtoResource> Adapter<R> {
    /// Whether an update changes nothing but the letter case of identifying
    /// GUIDs (which replace the resource when they change otherwise).
    fn only_identity_case_changed(&self, prior: &Value, planned: &Value) -> bool {
        let mut respelled = planned.clone();
        for a in self.definition.identity.attributes {
            if let (Some(old), Some(new)) = (prior.get(a).as_str(), planned.get(a).as_str())
                && old != new
                && old.eq_ignore_ascii_case(new)
            {
                respelled.set(a, prior.get(a).clone());
            }
        }
        respelled != *planned && {
            respelled.fill_unknowns_from(prior);
            respelled == *prior
        }
    }

    /// The identifying attributes of `v`, when all are known.
    fn identity_values(&self, v: &Value) -> Option<Vec<String>> {
        self.definition
            .identity
            .attributes
            .iter()
            .map(|a| match v.get(a) {
                Value::Null => Some(String::new()),
                other => other.as_str().map(str::to_owned),
            })
            .collect()
    }

    /// Refuses a second resource for an object another resource of this
    /// run already manages under another spelling.
    fn check_claim(&self, client: &Client, config: &Value) -> Option<tfplugin::Diagnostic> {
        let d = &self.definition;
        let values = self.identity_values(config)?;
        let first = client.claims.claim(d.type_name, &values)?;
        let spell = |vals: &[String]| {
            d.identity
                .attributes
                .iter()
                .zip(vals)
                .map(|(a, v)| format!("{a} = {v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let differs = d
            .identity
            .attributes
            .iter()
            .zip(values.iter().zip(&first))
            .find(|(_, (mine, theirs))| mine != theirs)
            .map_or(d.identity.attributes[0], |(a, _)| *a);
        Some(
            tfplugin::Diagnostic::error(
                "Two resources manage the same object",
                format!(
                    "This {} ({}) and another {} in this configuration ({}) name the same object, {}: Graph compares \
                     these ids ignoring letter case. Two resources would overwrite each other's settings, and destroying \
                     one would undo the other. Keep one of them (to drop the other without touching Graph: \
                     terraform state rm <address>).",
                    d.type_name,
                    spell(&values),
                    d.type_name,
                    spell(&first),
                    d.identity.object
                ),
            )
            .at(tfplugin::AttributePath::root().attr(differs)),
        )
    }

    /// The plan's warning for destroying an object this provider did not
    /// create.
    fn unowned_destroy_warning(&self, prior: &Value) -> tfplugin::Diagnostic {
        let d = &self.definition;
        let named = self
            .identity_values(prior)
            .map(|vals| {
                d.identity
                    .attributes
                    .iter()
                    .zip(vals)
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(a, v)| format!("{a} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        tfplugin::Diagnostic::warning(
            "Destroying an object this provider did not create",
            format!(
                "This {} ({named}) manages {} that was imported, or that already existed when the resource was created, \
                 so it may be an administrator's work. Destroying it {}",
                d.type_name, d.identity.object, d.unowned_destroy
            ),
        )
    }
}

#[tfplugin::async_trait]
impl<R: MtoResource> ImportState<Client> for Adapter<R> {
    async fn import_state(
        &self,
        ctx: &Ctx<'_, Client>,
        req: ImportRequest<'_>,
        resp: &mut ImportResponse,
    ) {
        let outcome = self.resource.import(ctx, req.id, resp).await;
        resp.diags.take_err(outcome);
    }
}
