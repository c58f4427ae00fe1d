//! The server-rendered web UI: sign-in, the application shell and the administration pages.
//!
//! Pages are askama templates (`templates/web/`) over one layout; forms post back and redirect
//! after success (POST-redirect-GET) with a flash message. Every action calls the same function
//! as its API route, so rules and audit rows are identical. The global middleware has already
//! resolved the session cookie and checked the CSRF token of every state-changing request. Each
//! page is declared with its permission ([`route_list`]); its handler checks it with
//! [`view::Ctx::require`] before touching the store (which applies the caller's scope again).

mod accounts;
mod activities;
mod api_keys;
mod assets;
mod assignment;
mod audit;
mod chart;
mod checklist;
mod conditions;
mod contacts;
mod conversion;
mod custom_field_admin;
mod custom_fields;
mod deals;
mod detail;
mod duplicate_rules;
mod duplicates;
mod email;
mod exports;
mod form;
mod health;
mod home;
mod imports;
mod lead_form_admin;
mod lead_forms;
mod leads;
mod list;
mod money;
mod names;
mod notifications;
mod password_reset;
mod pipelines;
mod profile;
mod qualification;
mod record_form;
mod record_list;
mod record_pages;
mod risk;
mod risk_settings;
mod roles;
mod scoring;
mod scoring_model;
mod search;
mod sequences;
mod session;
mod settings;
mod settings_doc;
mod system;
mod tasks;
mod teams;
mod templates;
mod timeline;
mod tracking;
mod users;
mod view;
mod views;
mod views_bar;
mod webhooks;
mod whatsapp;
mod workflows;

use crate::http::router::Access;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use record_pages::FormPages;
use rivet_domain::{Action, Resource};
use rivet_store::accounts::Account;
use rivet_store::contacts::Contact;
use rivet_store::leads::Lead;

/// One page or form action of the web UI and the permission it needs. The router checks it
/// before the handler runs ([`guarded`]; a refusal is a page in the layout); this list is what
/// the router is built from, and the browser tests walk it with every built-in role.
#[derive(Debug, Clone)]
pub struct WebRoute {
    pub method: Method,
    pub path: String,
    pub access: Access,
}

/// `handler` behind the router's check of `access` ([`view::admit`]): no page handler checks
/// its own permission.
fn guarded<H: Handler<T, AppState>, T: 'static>(
    filter: MethodFilter,
    access: Access,
    handler: H,
) -> MethodRouter<AppState> {
    on(
        filter,
        move |State(app): State<AppState>, req: Request| async move {
            match view::admit(&app, access, req).await {
                Ok(req) => handler.call(req, app).await,
                Err(refused) => refused,
            }
        },
    )
}

/// The router and the list of what it routes, built together so neither can miss a route.
struct Pages {
    router: Router<AppState>,
    list: Vec<WebRoute>,
}

impl Pages {
    fn add(
        mut self,
        method: Method,
        path: &str,
        access: Access,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.list.push(WebRoute {
            method,
            path: path.to_owned(),
            access,
        });
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add(
            Method::GET,
            path,
            access,
            guarded(MethodFilter::GET, access, handler),
        )
    }

    fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add(
            Method::POST,
            path,
            access,
            guarded(MethodFilter::POST, access, handler),
        )
    }
}

/// The pages of a record type that are its own: its list, the bulk bar's post, its page and
/// its delete.
struct RecordHandlers<I, B, S, D> {
    index: I,
    bulk: B,
    show: S,
    delete: D,
}

impl Pages {
    /// A record type's pages under `path`, each with the permission of what it does: the list,
    /// the generic new and edit forms ([`record_pages`]), the bulk bar, the record's page and
    /// its delete.
    fn records<R, I, Ti, B, Tb, S, Ts, D, Td>(
        self,
        form: FormPages<R>,
        pages: RecordHandlers<I, B, S, D>,
    ) -> Self
    where
        R: record_pages::FormRecord,
        I: Handler<Ti, AppState>,
        B: Handler<Tb, AppState>,
        S: Handler<Ts, AppState>,
        D: Handler<Td, AppState>,
        (Ti, Tb, Ts, Td): 'static,
    {
        use Access::Allow;
        let may = |action| Allow(R::RESOURCE, action);
        let path = form.path;
        let one = format!("{path}/{{id}}");
        self.get(path, may(Action::Read), pages.index)
            .get(
                &format!("{path}/new"),
                may(Action::Create),
                record_pages::new::<R>,
            )
            .post(
                &format!("{path}/new"),
                may(Action::Create),
                record_pages::create::<R>,
            )
            .post(&format!("{path}/bulk"), may(Action::Update), pages.bulk)
            .get(&one, may(Action::Read), pages.show)
            .get(
                &format!("{one}/edit"),
                may(Action::Update),
                record_pages::edit::<R>,
            )
            .post(
                &format!("{one}/edit"),
                may(Action::Update),
                record_pages::update::<R>,
            )
            .post(&format!("{one}/delete"), may(Action::Delete), pages.delete)
    }
}

fn pages() -> Pages {
    use Access::{Allow, Authenticated, Public, SystemAdmin};
    Pages {
        router: Router::new(),
        list: Vec::new(),
    }
    .get("/", Authenticated, home::show)
    .get("/login", Public, session::login_page)
    .post("/login", Public, session::login)
    .post("/logout", Public, session::logout)
    .get("/invite/{token}", Public, session::invite_page)
    .post("/invite/{token}", Public, session::accept_invite)
    .get("/forgot-password", Public, password_reset::forgot_page)
    .post("/forgot-password", Public, password_reset::forgot)
    .get(
        "/reset-password/{token}",
        Public,
        password_reset::reset_page,
    )
    .post("/reset-password/{token}", Public, password_reset::reset)
    .records(
        FormPages::<Lead>::new(),
        RecordHandlers {
            index: leads::index,
            bulk: leads::bulk,
            show: leads::show,
            delete: leads::delete,
        },
    )
    .get(
        "/leads/{id}/convert",
        Allow(Resource::Leads, Action::Update),
        conversion::show,
    )
    .post(
        "/leads/{id}/convert",
        Allow(Resource::Leads, Action::Update),
        conversion::convert,
    )
    .post(
        "/leads/{id}/checklist",
        Allow(Resource::Leads, Action::Update),
        checklist::save::<rivet_store::leads::Lead>,
    )
    .post(
        "/deals/{id}/checklist",
        Allow(Resource::Deals, Action::Update),
        checklist::save::<rivet_store::deals::Deal>,
    )
    .post(
        "/leads/{id}/transition",
        Allow(Resource::Leads, Action::Update),
        qualification::transition,
    )
    .get(
        "/leads/{id}/score",
        Allow(Resource::Leads, Action::Read),
        scoring::fragment,
    )
    // Lead scoring (issue 14 §1).
    .settings::<rivet_domain::scoring::ScoringConfig>()
    .post(
        "/admin/scoring/rescore",
        Allow(Resource::Settings, Action::Update),
        scoring::rescore,
    )
    // Deal risk (issue 14 §4).
    .settings::<rivet_domain::risk::RiskConfig>()
    // Account health (issue 14 §5).
    .settings::<rivet_domain::health::HealthConfig>()
    // WhatsApp Business (issue 15 §4).
    .get(
        "/admin/whatsapp",
        Allow(Resource::Settings, Action::Read),
        whatsapp::settings,
    )
    .post(
        "/admin/whatsapp",
        Allow(Resource::Settings, Action::Update),
        whatsapp::save_settings,
    )
    .post(
        "/leads/{id}/whatsapp",
        Allow(Resource::Activities, Action::Create),
        whatsapp::send_to_lead,
    )
    .post(
        "/contacts/{id}/whatsapp",
        Allow(Resource::Activities, Action::Create),
        whatsapp::send_to_contact,
    )
    .get(
        "/admin/scoring/model",
        Allow(Resource::Settings, Action::Read),
        scoring_model::show,
    )
    .post(
        "/admin/scoring/model/train",
        Allow(Resource::Settings, Action::Update),
        scoring_model::train,
    )
    .get("/profile", Authenticated, profile::show)
    .post("/profile", Authenticated, profile::save_name)
    .post("/profile/password", Authenticated, profile::change_password)
    .post("/profile/sessions", Authenticated, profile::sign_out_others)
    .get("/search", Authenticated, search::show)
    .get("/notifications", Authenticated, notifications::index)
    .post(
        "/notifications/read-all",
        Authenticated,
        notifications::read_all,
    )
    .post(
        "/notifications/{id}/open",
        Authenticated,
        notifications::open,
    )
    .get("/deals", Allow(Resource::Deals, Action::Read), deals::index)
    .get(
        "/deals/new",
        Allow(Resource::Deals, Action::Create),
        deals::new,
    )
    .post(
        "/deals/new",
        Allow(Resource::Deals, Action::Create),
        deals::create,
    )
    .post(
        "/deals/bulk",
        Allow(Resource::Deals, Action::Update),
        deals::bulk,
    )
    .get(
        "/deals/{id}",
        Allow(Resource::Deals, Action::Read),
        deals::show,
    )
    .get(
        "/deals/{id}/edit",
        Allow(Resource::Deals, Action::Update),
        deals::edit,
    )
    .post(
        "/deals/{id}/edit",
        Allow(Resource::Deals, Action::Update),
        deals::update,
    )
    .post(
        "/deals/{id}/delete",
        Allow(Resource::Deals, Action::Delete),
        deals::delete,
    )
    .get(
        "/deals/board",
        Allow(Resource::Deals, Action::Read),
        deals::board,
    )
    .post(
        "/deals/{id}/move",
        Allow(Resource::Deals, Action::Update),
        deals::move_deal,
    )
    .post(
        "/quick-add/{record}/{id}",
        Allow(Resource::Activities, Action::Create),
        timeline::quick_add,
    )
    .get("/tasks", Allow(Resource::Tasks, Action::Read), tasks::index)
    .get(
        "/tasks/new",
        Allow(Resource::Tasks, Action::Create),
        tasks::new,
    )
    .post(
        "/tasks/new",
        Allow(Resource::Tasks, Action::Create),
        tasks::create,
    )
    .post(
        "/tasks/bulk",
        Allow(Resource::Tasks, Action::Update),
        tasks::bulk,
    )
    .get(
        "/tasks/{id}/edit",
        Allow(Resource::Tasks, Action::Update),
        tasks::edit,
    )
    .post(
        "/tasks/{id}/edit",
        Allow(Resource::Tasks, Action::Update),
        tasks::update,
    )
    .post(
        "/tasks/{id}/complete",
        Allow(Resource::Tasks, Action::Update),
        tasks::complete,
    )
    .post(
        "/tasks/{id}/delete",
        Allow(Resource::Tasks, Action::Delete),
        tasks::delete,
    )
    .get(
        "/activities",
        Allow(Resource::Activities, Action::Read),
        activities::index,
    )
    .post(
        "/activities/bulk",
        Allow(Resource::Activities, Action::Update),
        activities::bulk,
    )
    .get(
        "/activities/{id}/edit",
        Allow(Resource::Activities, Action::Update),
        activities::edit,
    )
    .post(
        "/activities/{id}/edit",
        Allow(Resource::Activities, Action::Update),
        activities::update,
    )
    .post(
        "/activities/{id}/delete",
        Allow(Resource::Activities, Action::Delete),
        activities::delete,
    )
    .get(
        "/admin/users",
        Allow(Resource::Users, Action::Read),
        users::index,
    )
    .post(
        "/admin/users",
        Allow(Resource::Users, Action::Create),
        users::create,
    )
    .get(
        "/admin/users/{id}",
        Allow(Resource::Users, Action::Read),
        users::edit,
    )
    .post(
        "/admin/users/{id}",
        Allow(Resource::Users, Action::Update),
        users::update,
    )
    .post(
        "/admin/users/{id}/active",
        Allow(Resource::Users, Action::Update),
        users::set_active,
    )
    .get(
        "/admin/teams",
        Allow(Resource::Teams, Action::Read),
        teams::index,
    )
    .post(
        "/admin/teams",
        Allow(Resource::Teams, Action::Create),
        teams::create,
    )
    .get(
        "/admin/teams/{id}",
        Allow(Resource::Teams, Action::Read),
        teams::edit,
    )
    .post(
        "/admin/teams/{id}",
        Allow(Resource::Teams, Action::Update),
        teams::update,
    )
    .post(
        "/admin/teams/{id}/delete",
        Allow(Resource::Teams, Action::Delete),
        teams::delete,
    )
    .get(
        "/admin/roles",
        Allow(Resource::Roles, Action::Read),
        roles::index,
    )
    .post(
        "/admin/roles",
        Allow(Resource::Roles, Action::Create),
        roles::create,
    )
    .get(
        "/admin/roles/{id}",
        Allow(Resource::Roles, Action::Read),
        roles::show,
    )
    .post(
        "/admin/roles/{id}",
        Allow(Resource::Roles, Action::Update),
        roles::save,
    )
    .post(
        "/admin/roles/{id}/delete",
        Allow(Resource::Roles, Action::Delete),
        roles::delete,
    )
    .get(
        "/admin/api-keys",
        Allow(Resource::ApiKeys, Action::Read),
        api_keys::index,
    )
    .post(
        "/admin/api-keys",
        Allow(Resource::ApiKeys, Action::Create),
        api_keys::create,
    )
    .post(
        "/admin/api-keys/{id}/revoke",
        Allow(Resource::ApiKeys, Action::Delete),
        api_keys::revoke,
    )
    .get(
        "/admin/webhooks",
        Allow(Resource::Webhooks, Action::Read),
        webhooks::index,
    )
    .post(
        "/admin/webhooks",
        Allow(Resource::Webhooks, Action::Create),
        webhooks::create,
    )
    .get(
        "/admin/webhooks/{id}",
        Allow(Resource::Webhooks, Action::Read),
        webhooks::show,
    )
    .post(
        "/admin/webhooks/{id}",
        Allow(Resource::Webhooks, Action::Update),
        webhooks::update,
    )
    .post(
        "/admin/webhooks/{id}/toggle",
        Allow(Resource::Webhooks, Action::Update),
        webhooks::toggle,
    )
    .post(
        "/admin/webhooks/{id}/test",
        Allow(Resource::Webhooks, Action::Update),
        webhooks::send_test,
    )
    .post(
        "/admin/webhooks/{id}/delete",
        Allow(Resource::Webhooks, Action::Delete),
        webhooks::delete,
    )
    .get(
        "/admin/audit",
        Allow(Resource::Audit, Action::Read),
        audit::index,
    )
    .get(
        "/settings",
        Allow(Resource::Settings, Action::Read),
        settings::show,
    )
    .post(
        "/settings",
        Allow(Resource::Settings, Action::Update),
        settings::save,
    )
    .get(
        "/settings/email",
        Allow(Resource::Settings, Action::Read),
        email::show,
    )
    .post(
        "/settings/email",
        Allow(Resource::Settings, Action::Update),
        email::save,
    )
    .post(
        "/settings/email/test",
        Allow(Resource::Settings, Action::Update),
        email::test,
    )
    .post(
        "/settings/email/imap",
        Allow(Resource::Settings, Action::Update),
        email::save_imap,
    )
    .post(
        "/settings/email/imap/test",
        Allow(Resource::Settings, Action::Update),
        email::test_imap,
    )
    .post(
        "/settings/email/imap/poll",
        Allow(Resource::Settings, Action::Update),
        email::poll_imap,
    )
    .post(
        "/leads/{id}/email",
        Allow(Resource::Activities, Action::Create),
        email::send_lead,
    )
    .post(
        "/contacts/{id}/email",
        Allow(Resource::Activities, Action::Create),
        email::send_contact,
    )
    .post(
        "/deals/{id}/email",
        Allow(Resource::Activities, Action::Create),
        email::send_deal,
    )
    .get(
        "/admin/jobs",
        Allow(Resource::Jobs, Action::Read),
        system::jobs,
    )
    .post(
        "/admin/jobs/{id}/retry",
        Allow(Resource::Jobs, Action::Update),
        system::retry_job,
    )
    .post(
        "/admin/jobs/{id}/cancel",
        Allow(Resource::Jobs, Action::Update),
        system::cancel_job,
    )
    .get(
        "/admin/logs",
        Allow(Resource::SystemLogs, Action::Read),
        system::logs,
    )
    .get(
        "/admin/system",
        SystemAdmin(Resource::SystemSettings, Action::Read),
        system::settings,
    )
    .post(
        "/admin/system",
        SystemAdmin(Resource::SystemSettings, Action::Update),
        system::save_settings,
    )
    .records(
        FormPages::<Account>::new(),
        RecordHandlers {
            index: accounts::index,
            bulk: accounts::bulk,
            show: accounts::show,
            delete: accounts::delete,
        },
    )
    .get(
        "/accounts/{id}/delete",
        Allow(Resource::Accounts, Action::Delete),
        accounts::confirm_delete,
    )
    .records(
        FormPages::<Contact>::new(),
        RecordHandlers {
            index: contacts::index,
            bulk: contacts::bulk,
            show: contacts::show,
            delete: contacts::delete,
        },
    )
    .get(
        "/admin/custom-fields",
        Allow(Resource::Settings, Action::Read),
        custom_field_admin::index,
    )
    .post(
        "/admin/custom-fields",
        Allow(Resource::Settings, Action::Update),
        custom_field_admin::create,
    )
    .get(
        "/admin/custom-fields/{id}",
        Allow(Resource::Settings, Action::Read),
        custom_field_admin::edit,
    )
    .post(
        "/admin/custom-fields/{id}",
        Allow(Resource::Settings, Action::Update),
        custom_field_admin::update,
    )
    .post(
        "/admin/custom-fields/{id}/move",
        Allow(Resource::Settings, Action::Update),
        custom_field_admin::move_field,
    )
    .post(
        "/admin/custom-fields/{id}/delete",
        Allow(Resource::Settings, Action::Update),
        custom_field_admin::delete,
    )
    .get(
        "/admin/pipelines",
        Allow(Resource::Settings, Action::Read),
        pipelines::index,
    )
    .post(
        "/admin/pipelines",
        Allow(Resource::Settings, Action::Update),
        pipelines::create,
    )
    .get(
        "/admin/pipelines/{id}",
        Allow(Resource::Settings, Action::Read),
        pipelines::show,
    )
    .post(
        "/admin/pipelines/{id}",
        Allow(Resource::Settings, Action::Update),
        pipelines::update,
    )
    .post(
        "/admin/pipelines/{id}/delete",
        Allow(Resource::Settings, Action::Update),
        pipelines::delete,
    )
    .post(
        "/admin/pipelines/{id}/stages",
        Allow(Resource::Settings, Action::Update),
        pipelines::add_stage,
    )
    .post(
        "/admin/pipelines/{id}/stages/{stage_id}",
        Allow(Resource::Settings, Action::Update),
        pipelines::update_stage,
    )
    .post(
        "/admin/pipelines/{id}/stages/{stage_id}/move",
        Allow(Resource::Settings, Action::Update),
        pipelines::move_stage,
    )
    .post(
        "/admin/pipelines/{id}/stages/{stage_id}/delete",
        Allow(Resource::Settings, Action::Update),
        pipelines::delete_stage,
    )
    .duplicates::<Lead>()
    .duplicates::<Contact>()
    .duplicates::<Account>()
    .get(
        "/duplicates/groups/{id}",
        crate::api::duplicate_groups::READ,
        duplicates::group,
    )
    .post(
        "/duplicates/groups/{id}/dismiss",
        crate::api::duplicate_groups::UPDATE,
        duplicates::dismiss,
    )
    .post("/views", Authenticated, views::save)
    .post("/views/{id}/delete", Authenticated, views::delete)
    .get("/assets/web/{file}", Public, assets::serve)
    .get(
        "/admin/duplicate-rules",
        Allow(Resource::Settings, Action::Read),
        duplicate_rules::show,
    )
    .post(
        "/admin/duplicate-rules",
        Allow(Resource::Settings, Action::Update),
        duplicate_rules::save,
    )
    .get(
        "/admin/lead-forms",
        Allow(Resource::Settings, Action::Read),
        lead_form_admin::index,
    )
    .post(
        "/admin/lead-forms",
        Allow(Resource::Settings, Action::Update),
        lead_form_admin::create,
    )
    .get(
        "/admin/lead-forms/new",
        Allow(Resource::Settings, Action::Read),
        lead_form_admin::new,
    )
    .get(
        "/admin/lead-forms/{id}",
        Allow(Resource::Settings, Action::Read),
        lead_form_admin::show,
    )
    .post(
        "/admin/lead-forms/{id}",
        Allow(Resource::Settings, Action::Update),
        lead_form_admin::update,
    )
    .post(
        "/admin/lead-forms/{id}/delete",
        Allow(Resource::Settings, Action::Update),
        lead_form_admin::delete,
    )
    // E-mail templates (issue 15 §2): every role reads them; previewing an unsaved one is
    // part of writing it.
    .get(
        "/email-templates",
        Allow(Resource::Templates, Action::Read),
        templates::index,
    )
    .post(
        "/email-templates",
        Allow(Resource::Templates, Action::Create),
        templates::create,
    )
    .get(
        "/email-templates/new",
        Allow(Resource::Templates, Action::Create),
        templates::new,
    )
    .get(
        "/email-templates/{id}",
        Allow(Resource::Templates, Action::Read),
        templates::show,
    )
    .post(
        "/email-templates/{id}",
        Allow(Resource::Templates, Action::Update),
        templates::update,
    )
    .post(
        "/email-templates/{id}/delete",
        Allow(Resource::Templates, Action::Delete),
        templates::delete,
    )
    // Workflow rules (issue 15 §5).
    .get(
        "/workflows",
        Allow(Resource::Workflows, Action::Read),
        workflows::index,
    )
    .get(
        "/workflows/new",
        Allow(Resource::Workflows, Action::Create),
        workflows::new,
    )
    .post(
        "/workflows/new",
        Allow(Resource::Workflows, Action::Create),
        workflows::create,
    )
    .get(
        "/workflows/{id}",
        Allow(Resource::Workflows, Action::Read),
        workflows::show,
    )
    .get(
        "/workflows/{id}/edit",
        Allow(Resource::Workflows, Action::Update),
        workflows::edit,
    )
    .post(
        "/workflows/{id}/edit",
        Allow(Resource::Workflows, Action::Update),
        workflows::update,
    )
    .post(
        "/workflows/{id}/toggle",
        Allow(Resource::Workflows, Action::Update),
        workflows::toggle,
    )
    // Sequences (issue 15 §3): every role but read-only reads them; enrolling and changing
    // an enrollment need activities create, and sequences read (checked by the handlers, as
    // the API does).
    .get(
        "/sequences",
        Allow(Resource::Sequences, Action::Read),
        sequences::index,
    )
    .post(
        "/sequences",
        Allow(Resource::Sequences, Action::Create),
        sequences::create,
    )
    .get(
        "/sequences/new",
        Allow(Resource::Sequences, Action::Create),
        sequences::new,
    )
    .get(
        "/sequences/enroll",
        Allow(Resource::Activities, Action::Create),
        sequences::enroll_page,
    )
    .post(
        "/sequences/enroll",
        Allow(Resource::Activities, Action::Create),
        sequences::enroll,
    )
    .get(
        "/sequences/{id}",
        Allow(Resource::Sequences, Action::Read),
        sequences::show,
    )
    .post(
        "/sequences/{id}",
        Allow(Resource::Sequences, Action::Update),
        sequences::update,
    )
    .post(
        "/sequences/{id}/delete",
        Allow(Resource::Sequences, Action::Delete),
        sequences::delete,
    )
    .post(
        "/sequences/{id}/enrollments/{eid}/{verb}",
        Allow(Resource::Activities, Action::Create),
        sequences::change,
    )
    // Assignment rules (issue 13 §3).
    .get(
        "/admin/assignment-rules",
        Allow(Resource::Settings, Action::Read),
        assignment::index,
    )
    .post(
        "/admin/assignment-rules",
        Allow(Resource::Settings, Action::Update),
        assignment::create,
    )
    .get(
        "/admin/assignment-rules/new",
        Allow(Resource::Settings, Action::Update),
        assignment::new,
    )
    .post(
        "/admin/assignment-rules/test",
        Allow(Resource::Settings, Action::Read),
        assignment::test,
    )
    .post(
        "/admin/assignment-rules/settings",
        Allow(Resource::Settings, Action::Update),
        assignment::save_settings,
    )
    .get(
        "/admin/assignment-rules/{id}",
        Allow(Resource::Settings, Action::Read),
        assignment::edit,
    )
    .post(
        "/admin/assignment-rules/{id}",
        Allow(Resource::Settings, Action::Update),
        assignment::update,
    )
    .post(
        "/admin/assignment-rules/{id}/move",
        Allow(Resource::Settings, Action::Update),
        assignment::move_rule,
    )
    .post(
        "/admin/assignment-rules/{id}/delete",
        Allow(Resource::Settings, Action::Update),
        assignment::delete,
    )
    // Web-to-lead forms, for visitors of the company's site (no session is read: see
    // `crate::http::auth::PUBLIC_FORMS`).
    .get("/f/{key}", Public, lead_forms::page)
    .post("/f/{key}", Public, lead_forms::submit)
    .get("/f/{key}/embed", Public, lead_forms::embed)
    // E-mail tracking links, for the readers of the company's e-mails (no session is read:
    // see `crate::http::auth::TRACKING_LINKS`).
    .get("/t/o/{token}", Public, tracking::open)
    .get("/t/c/{token}", Public, tracking::click)
    .get("/t/u/{token}", Public, tracking::unsubscribe_page)
    .post("/t/u/{token}", Public, tracking::unsubscribe)
    .get("/imports", crate::imports::ACCESS, imports::index)
    .get("/imports/{id}", crate::imports::ACCESS, imports::show)
    .post("/imports/{id}", crate::imports::ACCESS, imports::save)
    .post(
        "/imports/{id}/cancel",
        crate::imports::ACCESS,
        imports::cancel,
    )
    .post("/imports/{id}/undo", crate::imports::ACCESS, imports::undo)
    .get("/exports", crate::exports::ACCESS, exports::index)
    .post("/exports", crate::exports::ACCESS, exports::create)
    .post(
        "/exports/{id}/cancel",
        crate::exports::ACCESS,
        exports::cancel,
    )
    .post(
        "/exports/{id}/delete",
        crate::exports::ACCESS,
        exports::delete,
    )
}

impl Pages {
    /// A record type's duplicate pages (`web::duplicates`): its groups, a scan, the merge page
    /// and the merge, each with the permission of what it does.
    fn duplicates<R: duplicates::Reviewed>(self) -> Self {
        let base = format!("/duplicates/{}", R::ENTITY);
        let (read, update) = (
            Access::Allow(R::RESOURCE, Action::Read),
            Access::Allow(R::RESOURCE, Action::Update),
        );
        self.get(&base, read, duplicates::index::<R>)
            .post(&format!("{base}/scan"), update, duplicates::scan::<R>)
            .get(&format!("{base}/merge"), read, duplicates::compare::<R>)
            .post(&format!("{base}/merge"), update, duplicates::merge::<R>)
    }

    /// A settings document's page (`web::settings_doc`): read with the settings, saved with
    /// their update.
    fn settings<D: settings_doc::SettingsForm>(self) -> Self {
        self.get(
            D::PAGE,
            Access::Allow(Resource::Settings, Action::Read),
            settings_doc::show::<D>,
        )
        .post(
            D::PAGE,
            Access::Allow(Resource::Settings, Action::Update),
            settings_doc::save::<D>,
        )
    }
}

pub fn routes() -> Router<AppState> {
    pages()
        .router
        .route("/f/{key}", axum::routing::options(lead_forms::preflight))
        .fallback(view::not_found)
}

/// Every page and form action of the web UI with the permission it needs.
pub fn route_list() -> Vec<WebRoute> {
    pages().list
}

/// The HTML answer to a form post whose CSRF token is missing or stale (the check itself is in
/// the authentication middleware, for every route).
pub fn csrf_refused() -> axum::response::Response {
    use axum::response::IntoResponse;
    view::WebError::from(crate::http::error::AppError::Forbidden(
        "this form has expired or did not come from Rivet; reload the page and try again".into(),
    ))
    .into_response()
}
