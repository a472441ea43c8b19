//! The tfplugin6 `Provider` gRPC service, dispatching to the SDK traits.
//!
//! Every RPC decodes with the schema's type, calls the provider, checks what
//! came back against the rules Terraform will apply (wholly known results,
//! null for write-only attributes) and turns problems into diagnostics. gRPC
//! error statuses are kept for transport-level faults: Terraform shows them
//! only as an opaque "plugin error".

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::convert::{self, decode, encode};
use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::plan::plan_change;
use crate::proto::tfplugin6 as pb;
use crate::resource::{
    ConfigureResponse, CreateRequest, CreateResponse, Ctx, DataSource, DataSourceReadRequest,
    DataSourceReadResponse, DeleteRequest, DeleteResponse, Function, FunctionDef, ImportRequest,
    ImportResponse, ModifyPlanRequest, ModifyPlanResponse, Private, Provider, ReadRequest,
    ReadResponse, Resource, UpdateRequest, UpdateResponse, UpgradeStateRequest,
    UpgradeStateResponse, ValidateConfig, ValidateConfigRequest, ValidateConfigResponse,
};
use crate::schema::{Schema, check_block};
use crate::types::Type;
use crate::validate::validate_block;
use crate::value::{self, Value};

type Rpc<T> = Result<Response<T>, Status>;

type ResourceEntry<C> = Entry<Arc<dyn Resource<C>>>;
type DataSourceEntry<C> = Entry<Arc<dyn DataSource<C>>>;

struct Entry<T> {
    imp: T,
    schema: Schema,
    /// Shared with every response, for `set_state`.
    ty: Arc<Type>,
}

/// The tfplugin6 `Provider` service of one provider: what [`super::main`]
/// serves, public for in-process tests.
pub struct ProviderService<P: Provider> {
    provider: Arc<P>,
    provider_schema: Schema,
    provider_type: Type,
    resources: HashMap<String, ResourceEntry<P::Client>>,
    data_sources: HashMap<String, DataSourceEntry<P::Client>>,
    functions: HashMap<String, (Arc<dyn Function>, FunctionDef)>,
    /// Set once by ConfigureProvider. A std lock: held only to clone the Arc,
    /// never across an `.await`.
    client: RwLock<Option<Arc<P::Client>>>,
    /// Cancelled by StopProvider; handed to every resource call.
    stop: CancellationToken,
    schema_response: OnceLock<pb::get_provider_schema::Response>,
}

/// Problems in a provider's own definition that Terraform would reject (or
/// misbehave on) when it loads the schema, or that the SDK cannot serve
/// (a schema version without a state upgrader).
pub fn check_provider<P: Provider>(provider: &P) -> Vec<String> {
    let mut errors = Vec::new();
    let prefix = format!("{}_", provider.type_name());
    check_block(&provider.schema().block, "provider", &mut errors);
    let mut names = std::collections::BTreeSet::new();
    for r in provider.resources() {
        if !r.type_name().starts_with(&prefix) {
            errors.push(format!(
                "resource {} must start with {prefix}",
                r.type_name()
            ));
        }
        if !names.insert(("resource", r.type_name())) {
            errors.push(format!("resource {} declared twice", r.type_name()));
        }
        let schema = r.schema();
        check_block(&schema.block, r.type_name(), &mut errors);
        match (schema.version, r.state_upgrader().is_some()) {
            (v, false) if v > 0 => errors.push(format!(
                "resource {}: schema version {v} needs a state upgrader (state_upgrader() returns None)",
                r.type_name()
            )),
            (0, true) => errors.push(format!(
                "resource {}: a state upgrader with schema version 0 is never called",
                r.type_name()
            )),
            _ => {}
        }
    }
    for d in provider.data_sources() {
        if !d.type_name().starts_with(&prefix) {
            errors.push(format!(
                "data source {} must start with {prefix}",
                d.type_name()
            ));
        }
        if !names.insert(("data", d.type_name())) {
            errors.push(format!("data source {} declared twice", d.type_name()));
        }
        check_block(&d.schema().block, d.type_name(), &mut errors);
    }
    errors
}

impl<P: Provider> ProviderService<P> {
    /// Checks the provider's definition ([`check_provider`]) and builds the
    /// service; `stop` is cancelled by StopProvider.
    pub fn new(provider: P, stop: CancellationToken) -> Result<ProviderService<P>, Vec<String>> {
        let errors = check_provider(&provider);
        if !errors.is_empty() {
            return Err(errors);
        }
        let provider_schema = provider.schema();
        let provider_type = provider_schema.value_type();
        let resources = provider
            .resources()
            .into_iter()
            .map(|imp| {
                let schema = imp.schema();
                let ty = Arc::new(schema.value_type());
                (imp.type_name().to_owned(), Entry { imp, schema, ty })
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|imp| {
                let schema = imp.schema();
                let ty = Arc::new(schema.value_type());
                (imp.type_name().to_owned(), Entry { imp, schema, ty })
            })
            .collect();
        let functions = provider
            .functions()
            .into_iter()
            .map(|f| (f.name().to_owned(), (f.clone(), f.definition())))
            .collect();
        Ok(ProviderService {
            provider: Arc::new(provider),
            provider_schema,
            provider_type,
            resources,
            data_sources,
            functions,
            client: RwLock::new(None),
            stop,
            schema_response: OnceLock::new(),
        })
    }

    /// The configured client, or the diagnostic for a call before
    /// ConfigureProvider succeeded.
    fn client(&self) -> Result<Arc<P::Client>, Diagnostic> {
        self.client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                Diagnostic::error(
                    "Provider not configured",
                    "The provider was called before ConfigureProvider succeeded. Check the provider block for errors reported earlier.",
                )
            })
    }

    #[allow(clippy::result_large_err)] // a diagnostic, built only when the request fails
    fn resource(&self, type_name: &str) -> Result<&ResourceEntry<P::Client>, Diagnostic> {
        self.resources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown resource type",
                format!("This provider has no resource type {type_name:?}."),
            )
        })
    }

    #[allow(clippy::result_large_err)] // a diagnostic, built only when the request fails
    fn data_source(&self, type_name: &str) -> Result<&DataSourceEntry<P::Client>, Diagnostic> {
        self.data_sources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown data source",
                format!("This provider has no data source {type_name:?}."),
            )
        })
    }

    fn build_schema_response(&self) -> pb::get_provider_schema::Response {
        pb::get_provider_schema::Response {
            provider: Some(convert::schema(&self.provider_schema)),
            resource_schemas: self
                .resources
                .iter()
                .map(|(k, e)| (k.clone(), convert::schema(&e.schema)))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(k, e)| (k.clone(), convert::schema(&e.schema)))
                .collect(),
            functions: self
                .functions
                .iter()
                .map(|(k, (_, def))| (k.clone(), convert::function(def)))
                .collect(),
            ephemeral_resource_schemas: HashMap::new(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        }
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: true,
    }
}

/// Runs a resource's, data source's or provider's own checks, if it has any.
async fn validate_config(validator: Option<&dyn ValidateConfig>, config: &Value) -> Diagnostics {
    let mut resp = ValidateConfigResponse::default();
    if let Some(v) = validator {
        v.validate_config(ValidateConfigRequest { config }, &mut resp)
            .await;
    }
    resp.diags
}

/// Write-only attributes must never come back from the provider.
fn null_write_only(schema: &Schema, v: &mut Value) {
    if v.is_null() {
        return;
    }
    for a in schema.block.attributes.iter().filter(|a| a.write_only) {
        v.set(&a.name, Value::Null);
    }
}

fn unknown_in_result(v: &Value, what: &str) -> Option<Diagnostic> {
    v.first_unknown_path().map(|p| {
        let d = Diagnostic::error(
            "Provider returned an incomplete object",
            format!("The {what} still holds an unknown value. This is a bug in the provider."),
        );
        if p.is_root() { d } else { d.at(p) }
    })
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Rpc<pb::get_metadata::Response> {
        use pb::get_metadata as m;
        Ok(Response::new(m::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .keys()
                .map(|k| m::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| m::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            functions: self
                .functions
                .keys()
                .map(|k| m::FunctionMetadata { name: k.clone() })
                .collect(),
            ephemeral_resources: Vec::new(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Rpc<pb::get_provider_schema::Response> {
        Ok(Response::new(
            self.schema_response
                .get_or_init(|| self.build_schema_response())
                .clone(),
        ))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Rpc<pb::validate_provider_config::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        match decode(
            req.config.as_ref(),
            &self.provider_type,
            "provider configuration",
        ) {
            Ok(config) => {
                validate_block(
                    &self.provider_schema.block,
                    &config,
                    &AttributePath::root(),
                    &mut diags,
                );
                diags.extend(validate_config(self.provider.config_validator(), &config).await);
            }
            Err(d) => diags.push(d),
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Rpc<pb::validate_resource_config::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let run = async {
            let e = self.resource(&req.type_name)?;
            let config = decode(req.config.as_ref(), &e.ty, "resource configuration")?;
            validate_block(&e.schema.block, &config, &AttributePath::root(), &mut diags);
            let write_only_allowed = req
                .client_capabilities
                .as_ref()
                .is_some_and(|c| c.write_only_attributes_allowed);
            if !write_only_allowed {
                for a in e.schema.block.attributes.iter().filter(|a| a.write_only) {
                    if !config.get(&a.name).is_null() {
                        diags.error_at(
                            AttributePath::root().attr(&a.name),
                            "Write-only attribute not supported",
                            "This attribute is write-only, which needs Terraform 1.11 or later.",
                        );
                    }
                }
            }
            diags.extend(validate_config(e.imp.config_validator(), &config).await);
            Ok::<_, Diagnostic>(())
        };
        if let Err(d) = run.await {
            diags.push(d);
        }
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Rpc<pb::validate_data_resource_config::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let run = async {
            let e = self.data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &e.ty, "data source configuration")?;
            validate_block(&e.schema.block, &config, &AttributePath::root(), &mut diags);
            diags.extend(validate_config(e.imp.config_validator(), &config).await);
            Ok::<_, Diagnostic>(())
        };
        if let Err(d) = run.await {
            diags.push(d);
        }
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Rpc<pb::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let result = async {
            let e = self.resource(&req.type_name)?;
            let raw = req.raw_state.unwrap_or_default();
            if raw.json.is_empty() {
                if !raw.flatmap.is_empty() {
                    return Err(Diagnostic::error(
                        "Unsupported state format",
                        "This state was written in the legacy flatmap format, which this provider cannot read.",
                    )
                    .into());
                }
                return Ok(None);
            }
            let upgraded = if req.version == e.schema.version {
                // Same version: attributes since removed from the schema are dropped.
                value::from_json_bytes(&raw.json, &e.ty, true).map_err(|err| {
                    Diagnostics::from(Diagnostic::error(
                        "Unreadable stored state",
                        err.to_string(),
                    ))
                })?
            } else if req.version < e.schema.version {
                let Some(upgrader) = e.imp.state_upgrader() else {
                    return Err(Diagnostic::error(
                        "Unsupported state version",
                        format!(
                            "{} has no upgrade from state version {}.",
                            req.type_name, req.version
                        ),
                    )
                    .into());
                };
                let mut resp = UpgradeStateResponse::new(e.ty.clone());
                upgrader
                    .upgrade_state(
                        UpgradeStateRequest {
                            version: req.version,
                            raw_json: &raw.json,
                        },
                        &mut resp,
                    )
                    .await;
                if resp.diags.has_errors() {
                    return Err(resp.diags);
                }
                diags.extend(resp.diags);
                if resp.state.is_null() {
                    return Err(Diagnostic::error(
                        "Provider returned no upgraded state",
                        "The state upgrade succeeded but returned no object. This is a bug in the provider.",
                    )
                    .into());
                }
                resp.state
            } else {
                return Err(Diagnostic::error(
                    "State from a newer provider",
                    format!(
                        "This state was written by a provider with schema version {} of {}; this provider knows version {}. Upgrade the provider.",
                        req.version, req.type_name, e.schema.version
                    ),
                )
                .into());
            };
            Ok(Some(
                encode(&upgraded, &e.ty, "upgraded state").map_err(Diagnostics::from)?,
            ))
        }
        .await;
        let upgraded_state = match result {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                None
            }
        };
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Rpc<pb::get_resource_identity_schemas::Response> {
        Ok(Response::new(
            pb::get_resource_identity_schemas::Response::default(),
        ))
    }

    async fn upgrade_resource_identity(
        &self,
        _: Request<pb::upgrade_resource_identity::Request>,
    ) -> Rpc<pb::upgrade_resource_identity::Response> {
        let d = Diagnostic::error(
            "Resource identity not supported",
            "This provider does not use resource identities.",
        );
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity: None,
            diagnostics: convert::diagnostics(d.into()),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Rpc<pb::configure_provider::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        match decode(
            req.config.as_ref(),
            &self.provider_type,
            "provider configuration",
        ) {
            Ok(config) => {
                let creq = crate::resource::ConfigureRequest {
                    config: &config,
                    terraform_version: &req.terraform_version,
                };
                let mut resp = ConfigureResponse::default();
                self.provider.configure(creq, &mut resp).await;
                let failed = resp.diags.has_errors();
                diags.extend(resp.diags);
                if let Some(client) = resp.client
                    && !failed
                {
                    *self.client.write().unwrap_or_else(|e| e.into_inner()) =
                        Some(Arc::new(client));
                }
            }
            Err(d) => diags.push(d),
        }
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Rpc<pb::read_resource::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut new_state = req.current_state.clone();
        let mut private = req.private.clone();
        let run = async {
            let e = self.resource(&req.type_name)?;
            let state = decode(req.current_state.as_ref(), &e.ty, "state")?;
            if state.is_null() {
                return Ok(());
            }
            let client = self.client()?;
            let ctx = Ctx {
                client: &*client,
                cancel: &self.stop,
            };
            let stored = Private::from_bytes(&req.private);
            let mut resp = ReadResponse::new(state.clone(), stored.clone(), e.ty.clone());
            let read = ReadRequest {
                state: &state,
                private: &stored,
            };
            e.imp.read(&ctx, read, &mut resp).await;
            diags.extend(resp.diags);
            if resp.state.is_null() {
                new_state = None;
                private = Vec::new();
                return Ok(());
            }
            let mut v = resp.state;
            null_write_only(&e.schema, &mut v);
            if let Some(d) = unknown_in_result(&v, "refreshed state") {
                return Err(d);
            }
            new_state = Some(encode(&v, &e.ty, "refreshed state")?);
            private = resp.private.to_bytes();
            Ok::<_, Diagnostic>(())
        };
        if let Err(d) = run.await {
            diags.push(d);
        }
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: convert::diagnostics(diags),
            private,
            deferred: None,
            new_identity: None,
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Rpc<pb::plan_resource_change::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut out = pb::plan_resource_change::Response::default();
        let run = async {
            let e = self.resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &e.ty, "prior state")?;
            let proposed = decode(req.proposed_new_state.as_ref(), &e.ty, "proposed new state")?;
            let config = decode(req.config.as_ref(), &e.ty, "configuration")?;
            let destroying = proposed.is_null();
            let mut plan = if destroying {
                // Nothing for the schema's rules to do; the modifier still
                // sees the destroy, to warn about what it removes.
                ModifyPlanResponse {
                    planned: Value::Null,
                    requires_replace: Vec::new(),
                    private: Private::from_bytes(&req.prior_private),
                    diags: Diagnostics::new(),
                }
            } else {
                let change = plan_change(&e.schema.block, &prior, &proposed, &config);
                ModifyPlanResponse {
                    planned: change.planned,
                    requires_replace: change.requires_replace,
                    private: Private::from_bytes(&req.prior_private),
                    diags: change.diags,
                }
            };
            if let Some(modifier) = e.imp.plan_modifier() {
                let client = self.client()?;
                let ctx = Ctx {
                    client: &*client,
                    cancel: &self.stop,
                };
                let mreq = ModifyPlanRequest {
                    prior: &prior,
                    config: &config,
                    proposed: &proposed,
                };
                modifier.modify_plan(&ctx, mreq, &mut plan).await;
            }
            diags.extend(plan.diags);
            if destroying && !plan.planned.is_null() {
                // Terraform requires a destroy to plan null; a modifier that
                // says otherwise is a provider bug, not a user's.
                return Err(Diagnostic::error(
                    "Provider bug: a destroy planned a value",
                    format!("{} planned a non-null value for a destroy.", req.type_name),
                ));
            }
            null_write_only(&e.schema, &mut plan.planned);
            out.planned_state = Some(encode(&plan.planned, &e.ty, "planned state")?);
            out.requires_replace = plan.requires_replace.iter().map(convert::path).collect();
            out.planned_private = plan.private.to_bytes();
            Ok::<_, Diagnostic>(())
        };
        if let Err(d) = run.await {
            diags.push(d);
        }
        out.diagnostics = convert::diagnostics(diags);
        Ok(Response::new(out))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Rpc<pb::apply_resource_change::Response> {
        let req = req.into_inner();
        let started = std::time::Instant::now();
        let mut diags = Diagnostics::new();
        let mut out = pb::apply_resource_change::Response {
            new_state: req.prior_state.clone(),
            ..Default::default()
        };
        let mut action = "apply";
        let run = async {
            let e = self.resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &e.ty, "prior state")?;
            let planned = decode(req.planned_state.as_ref(), &e.ty, "planned state")?;
            let config = decode(req.config.as_ref(), &e.ty, "configuration")?;
            let private = Private::from_bytes(&req.planned_private);
            let client = self.client()?;
            let ctx = Ctx {
                client: &*client,
                cancel: &self.stop,
            };
            if planned.is_null() {
                action = "delete";
                let mut resp = DeleteResponse::new(private.clone());
                let del = DeleteRequest {
                    prior: &prior,
                    private: &private,
                };
                e.imp.delete(&ctx, del, &mut resp).await;
                let failed = resp.diags.has_errors();
                diags.extend(resp.diags);
                if failed {
                    // The object is still there: keep it in state.
                    out.private = if resp.private == private {
                        req.planned_private.clone()
                    } else {
                        resp.private.to_bytes()
                    };
                } else {
                    out.new_state = Some(encode(&Value::Null, &e.ty, "new state")?);
                }
                return Ok(());
            }
            let (mut state, new_private, result_diags) = if prior.is_null() {
                action = "create";
                let mut resp = CreateResponse::new(private.clone(), e.ty.clone());
                let create = CreateRequest {
                    planned: &planned,
                    config: &config,
                    private: &private,
                };
                e.imp.create(&ctx, create, &mut resp).await;
                (resp.state, resp.private, resp.diags)
            } else {
                action = "update";
                let mut resp = UpdateResponse::new(prior.clone(), private.clone(), e.ty.clone());
                let update = UpdateRequest {
                    prior: &prior,
                    planned: &planned,
                    config: &config,
                    private: &private,
                };
                e.imp.update(&ctx, update, &mut resp).await;
                (resp.state, resp.private, resp.diags)
            };
            let failed = result_diags.has_errors();
            diags.extend(result_diags);
            null_write_only(&e.schema, &mut state);
            if state.is_null() && !failed {
                return Err(Diagnostic::error(
                    "Provider returned no object",
                    "The apply succeeded but the provider returned no object. This is a bug in the provider.",
                ));
            }
            if !state.is_null()
                && let Some(d) = unknown_in_result(&state, "new state")
            {
                if failed {
                    // Keep the partial object, with unknowns cleared, so
                    // Terraform can record it as tainted.
                    state = clear_unknowns(state);
                } else {
                    return Err(d);
                }
            }
            out.new_state = Some(encode(&state, &e.ty, "new state")?);
            out.private = new_private.to_bytes();
            Ok::<_, Diagnostic>(())
        };
        if let Err(d) = run.await {
            diags.push(d);
        }
        // One line per change, so that TF_LOG_PROVIDER=debug shows where an
        // apply's time went (bench/scale.py sums them by resource type).
        tracing::debug!(
            resource = %req.type_name,
            action,
            ms = started.elapsed().as_millis() as u64,
            failed = diags.has_errors(),
            "applied"
        );
        out.diagnostics = convert::diagnostics(diags);
        Ok(Response::new(out))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Rpc<pb::import_resource_state::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut imported = Vec::new();
        let run = async {
            let e = self.resource(&req.type_name)?;
            let Some(importer) = e.imp.importer() else {
                return Err(Diagnostic::error(
                    "Import not supported",
                    format!("{} cannot be imported.", req.type_name),
                ));
            };
            let client = self.client()?;
            let ctx = Ctx {
                client: &*client,
                cancel: &self.stop,
            };
            let mut result = ImportResponse::new(e.ty.clone());
            importer
                .import_state(&ctx, ImportRequest { id: &req.id }, &mut result)
                .await;
            let failed = result.diags.has_errors();
            diags.extend(result.diags);
            if failed || result.state.is_null() {
                return Ok(());
            }
            imported.push(pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(encode(
                    &clear_unknowns(result.state),
                    &e.ty,
                    "imported state",
                )?),
                private: result.private.to_bytes(),
                identity: None,
            });
            Ok::<_, Diagnostic>(())
        };
        if let Err(d) = run.await {
            diags.push(d);
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Rpc<pb::move_resource_state::Response> {
        let req = req.into_inner();
        let d = Diagnostic::error(
            "Move not supported",
            format!(
                "{} cannot be moved from {} ({}); no resource of this provider accepts state of another type.",
                req.target_type_name, req.source_type_name, req.source_provider_address
            ),
        );
        Ok(Response::new(pb::move_resource_state::Response {
            diagnostics: convert::diagnostics(d.into()),
            ..Default::default()
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Rpc<pb::read_data_source::Response> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut state = None;
        let run = async {
            let e = self.data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &e.ty, "data source configuration")?;
            let client = self.client()?;
            let ctx = Ctx {
                client: &*client,
                cancel: &self.stop,
            };
            let mut resp = DataSourceReadResponse::new(config.clone(), e.ty.clone());
            e.imp
                .read(&ctx, DataSourceReadRequest { config: &config }, &mut resp)
                .await;
            let failed = resp.diags.has_errors();
            diags.extend(resp.diags);
            if failed {
                return Ok(());
            }
            let v = resp.state;
            if v.is_null() {
                return Err(Diagnostic::error(
                    "Provider returned no data",
                    "The data source returned null. This is a bug in the provider.",
                ));
            }
            if let Some(d) = unknown_in_result(&v, "data source result") {
                return Err(d);
            }
            state = Some(encode(&v, &e.ty, "data source result")?);
            Ok::<_, Diagnostic>(())
        };
        if let Err(d) = run.await {
            diags.push(d);
        }
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Rpc<pb::validate_ephemeral_resource_config::Response> {
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: convert::diagnostics(no_ephemeral(&req.into_inner().type_name).into()),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> Rpc<pb::open_ephemeral_resource::Response> {
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(no_ephemeral(&req.into_inner().type_name).into()),
            ..Default::default()
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Rpc<pb::renew_ephemeral_resource::Response> {
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(no_ephemeral(&req.into_inner().type_name).into()),
            ..Default::default()
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<pb::close_ephemeral_resource::Request>,
    ) -> Rpc<pb::close_ephemeral_resource::Response> {
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(no_ephemeral(&req.into_inner().type_name).into()),
        }))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Rpc<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response {
            functions: self
                .functions
                .iter()
                .map(|(k, (_, def))| (k.clone(), convert::function(def)))
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> Rpc<pb::call_function::Response> {
        let req = req.into_inner();
        let fail = |text: String, argument: Option<i64>| {
            Ok(Response::new(pb::call_function::Response {
                result: None,
                error: Some(pb::FunctionError {
                    text,
                    function_argument: argument,
                }),
            }))
        };
        let Some((f, def)) = self.functions.get(&req.name) else {
            return fail(
                format!("This provider has no function {:?}.", req.name),
                None,
            );
        };
        let mut args = Vec::with_capacity(req.arguments.len());
        for (i, dv) in req.arguments.iter().enumerate() {
            let Some(param) = def.parameters.get(i).or(def.variadic.as_ref()) else {
                return fail(
                    format!(
                        "Too many arguments: {} takes {}.",
                        req.name,
                        def.parameters.len()
                    ),
                    None,
                );
            };
            match decode(Some(dv), &param.ty, "function argument") {
                Ok(v) => args.push(v),
                Err(d) => return fail(format!("{}: {}", d.summary, d.detail), Some(i as i64)),
            }
        }
        if args.len() < def.parameters.len() {
            return fail(
                format!(
                    "Not enough arguments: {} takes {}.",
                    req.name,
                    def.parameters.len()
                ),
                None,
            );
        }
        match f.call(&args) {
            Ok(v) => match encode(&v, &def.return_type, "function result") {
                Ok(result) => Ok(Response::new(pb::call_function::Response {
                    result: Some(result),
                    error: None,
                })),
                Err(d) => fail(d.detail, None),
            },
            Err(e) => fail(e.text, e.argument),
        }
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Rpc<pb::stop_provider::Response> {
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

fn no_ephemeral(type_name: &str) -> Diagnostic {
    Diagnostic::error(
        "Unknown ephemeral resource",
        format!("This provider has no ephemeral resource {type_name:?}."),
    )
}

fn clear_unknowns(v: Value) -> Value {
    match v {
        Value::Unknown(_) => Value::Null,
        Value::List(items) => Value::List(items.into_iter().map(clear_unknowns).collect()),
        Value::Set(items) => Value::Set(items.into_iter().map(clear_unknowns).collect()),
        Value::Tuple(items) => Value::Tuple(items.into_iter().map(clear_unknowns).collect()),
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, clear_unknowns(v))).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, clear_unknowns(v))).collect())
        }
        Value::Dynamic(t, v) => Value::Dynamic(t, Box::new(clear_unknowns(*v))),
        other => other,
    }
}
