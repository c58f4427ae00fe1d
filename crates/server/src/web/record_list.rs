//! The one list page of every record type, `templates/web/record_list.html`: the page header,
//! the tabs, the views bar, the filter bar, the bulk bar, the table with sortable headers and
//! typed cells, the empty states and the pager. A record's module declares its list once
//! ([`ListDecl`]: names, columns) and fills a [`RecordList`] with what its page shows: filters,
//! bulk actions and rows as cells. What a page has of its own (the deals' board button, the
//! tasks' tabs and "Complete" buttons) is a value here too, not a copy of the markup.
//!
//! Reading the query string, the links and the bulk form are `web::list`'s.

use super::custom_fields::CustomFilter;
pub(super) use super::list::ListDecl;
use super::list::{Column, ListLinks, Owners};
use super::view::{Ctx, FormErrors, Layout, Opt};
use super::views_bar::ViewsBar;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::Action;
use uuid::Uuid;

/// `select=all` ticks every row of the page: a link, so it works without a script.
const SELECT_PARAM: &str = "select";

/// A button of the page header.
pub struct HeaderLink {
    pub href: String,
    pub label: &'static str,
    pub primary: bool,
}

/// Tabs above the list (the tasks' "My tasks", "Overdue", …).
pub struct Tabs {
    pub label: &'static str,
    pub links: Vec<TabLink>,
}

pub struct TabLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// One control of the filter bar.
pub enum Filter {
    /// The `q` search box.
    Search {
        placeholder: &'static str,
        value: String,
    },
    Select {
        field: String,
        label: String,
        options: Vec<Opt>,
    },
    /// A free text field.
    Text {
        field: &'static str,
        label: &'static str,
        value: String,
        placeholder: &'static str,
    },
    /// A typed input (`date`, or `text` for a number bound) whose error sits next to it.
    Input {
        field: &'static str,
        label: &'static str,
        value: String,
        kind: &'static str,
    },
}

impl Filter {
    pub fn search(placeholder: &'static str, raw: &[(String, String)]) -> Self {
        Self::Search {
            placeholder,
            value: value(raw, "q"),
        }
    }

    pub fn select(field: &str, label: &str, options: Vec<Opt>) -> Self {
        Self::Select {
            field: field.to_owned(),
            label: label.to_owned(),
            options,
        }
    }

    /// The members select of a person field (`owner_id`, `assignee_id`).
    pub fn member(owners: &Owners, (field, label): (&str, &str), raw: &[(String, String)]) -> Self {
        let selected = super::list::value_of(raw, field);
        Self::select(field, label, owners.options(Some("Anyone"), selected))
    }

    pub fn text(
        field: &'static str,
        label: &'static str,
        placeholder: &'static str,
        raw: &[(String, String)],
    ) -> Self {
        Self::Text {
            field,
            label,
            value: value(raw, field),
            placeholder,
        }
    }

    pub fn date(field: &'static str, label: &'static str, raw: &[(String, String)]) -> Self {
        Self::Input {
            field,
            label,
            value: value(raw, field),
            kind: "date",
        }
    }

    /// A bound of a number range (`amount[gte]`), typed as text: the API says what is wrong.
    pub fn bound(field: &'static str, label: &'static str, raw: &[(String, String)]) -> Self {
        Self::Input {
            field,
            label,
            value: value(raw, field),
            kind: "text",
        }
    }
}

impl From<CustomFilter> for Filter {
    fn from(custom: CustomFilter) -> Self {
        Self::Select {
            field: custom.name,
            label: custom.label,
            options: custom.options,
        }
    }
}

fn value(raw: &[(String, String)], key: &str) -> String {
    super::list::value_of(raw, key).to_owned()
}

/// One action of the bulk bar: a select and the button that applies it.
pub struct BulkSelect {
    pub field: &'static str,
    pub label: &'static str,
    pub options: Vec<Opt>,
    pub action: &'static str,
    pub button: &'static str,
}

/// The bulk bar, for a caller who may update or delete the list's records.
pub struct BulkBar {
    pub actions: Vec<BulkSelect>,
    pub delete: bool,
}

pub struct Badge {
    /// The classes after `badge`.
    pub class: String,
    pub label: String,
}

impl Badge {
    pub fn new(class: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            class: class.into(),
            label: label.into(),
        }
    }
}

/// A link to a record, by its name.
pub struct LinkView {
    pub label: String,
    pub href: String,
}

/// What a cell shows.
pub enum CellValue {
    /// The row's record: its name, linked (or not, without the right to open it), and a muted
    /// line under it.
    Title {
        text: String,
        href: Option<String>,
        sub: String,
    },
    /// Text, then a badge if any; an em dash when both are empty.
    Text { text: String, badge: Option<Badge> },
    /// A badge and a muted line under it.
    Badge { badge: Badge, sub: String },
    /// Links to other records, then a badge if any; an em dash when there is no link.
    Links {
        links: Vec<LinkView>,
        badge: Option<Badge>,
    },
    /// A button posting to `action` (with the list to come back to), named after the row for
    /// screen readers; nothing without an action.
    Button {
        action: Option<String>,
        label: &'static str,
    },
    /// A lead's score and grade as a badge linking to its breakdown (`href`), which the
    /// script opens in a popover.
    Score {
        total: i32,
        grade: &'static str,
        href: String,
    },
}

pub struct Cell {
    /// The cell's classes (`num`, `nowrap`, …).
    pub class: &'static str,
    pub value: CellValue,
}

impl Cell {
    pub fn title(text: impl Into<String>, href: Option<String>, sub: impl Into<String>) -> Self {
        Self::of(CellValue::Title {
            text: text.into(),
            href,
            sub: sub.into(),
        })
    }

    pub fn text(text: impl Into<String>) -> Self {
        Self::of(CellValue::Text {
            text: text.into(),
            badge: None,
        })
    }

    /// A date or time: on one line.
    pub fn date(text: impl Into<String>) -> Self {
        Self::text(text).class("nowrap")
    }

    pub fn badge(badge: Badge) -> Self {
        Self::of(CellValue::Badge {
            badge,
            sub: String::new(),
        })
    }

    pub fn links(links: Vec<LinkView>) -> Self {
        Self::of(CellValue::Links { links, badge: None })
    }

    pub fn link(link: Option<LinkView>) -> Self {
        Self::links(link.into_iter().collect())
    }

    pub fn button(action: Option<String>, label: &'static str) -> Self {
        Self::of(CellValue::Button { action, label }).class("row-actions")
    }

    /// A score badge: the total and its grade, opening the breakdown at `href`.
    pub fn score(total: i32, href: String) -> Self {
        Self::of(CellValue::Score {
            total,
            grade: rivet_domain::scoring::grade(total),
            href,
        })
        .class("num")
    }

    fn of(value: CellValue) -> Self {
        Self { class: "", value }
    }

    pub fn class(mut self, class: &'static str) -> Self {
        self.class = class;
        self
    }

    /// A badge after the text or the links, or a muted line under a badge.
    pub fn with_badge(mut self, extra: Option<Badge>) -> Self {
        match &mut self.value {
            CellValue::Text { badge, .. } | CellValue::Links { badge, .. } => *badge = extra,
            _ => {}
        }
        self
    }

    pub fn with_sub(mut self, text: impl Into<String>) -> Self {
        match &mut self.value {
            CellValue::Title { sub, .. } | CellValue::Badge { sub, .. } => *sub = text.into(),
            _ => {}
        }
        self
    }
}

pub struct Row {
    pub id: Uuid,
    /// The record's name, for its checkbox's label.
    pub name: String,
    /// The row's class (an overdue task's), or empty.
    pub class: &'static str,
    pub cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "web/record_list.html")]
pub(super) struct RecordList {
    pub layout: Layout,
    pub decl: &'static ListDecl,
    pub blurb: String,
    pub header_links: Vec<HeaderLink>,
    pub background_export: Option<BackgroundExport>,
    pub tabs: Option<Tabs>,
    pub heading: String,
    pub errors: FormErrors,
    pub views: ViewsBar,
    /// Parameters the filter form keeps as they are (the tasks' tab).
    pub hidden: Vec<(&'static str, String)>,
    pub filters: Vec<Filter>,
    pub filtered: bool,
    pub clear_href: String,
    /// The link under an empty list to the new form, for who may create.
    pub add_first: Option<String>,
    pub bulk: Option<BulkBar>,
    can_update: bool,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Every row ticked (`select=all`), and the link that ticks them.
    pub select_all: bool,
    pub select_href: String,
    /// This page, where buttons come back to.
    pub back: String,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
}

/// The filters and sort of a list's query (not its page), as an export reads them.
fn exported_pairs(query: &[(String, String)]) -> Vec<(&str, &str)> {
    query
        .iter()
        .filter(|(k, v)| k != "cursor" && k != "limit" && !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// "Export CSV" and "Export Excel": the API's export of the list at `path` with the filters
/// and sort of `query`.
fn export_links(path: &str, query: &[(String, String)]) -> [HeaderLink; 2] {
    let kept = exported_pairs(query);
    let link = |format: &str, label| {
        let mut pairs = vec![("format", format)];
        pairs.extend(kept.iter().copied());
        HeaderLink {
            href: format!(
                "/api/v1{path}/export?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            ),
            label,
            primary: false,
        }
    };
    [link("csv", "Export CSV"), link("xlsx", "Export Excel")]
}

/// The "Export in the background" form of a list: a job writes the file of the list at `path`
/// with the filters and sort of `query`, to download from the Exports page (`web::exports`).
/// A choice beside the direct links rather than a switch at some row count: counting the list
/// on every page view would cost as much as reading it, and the user knows best whether to wait.
pub struct BackgroundExport {
    pub entity: &'static str,
    /// The list's query string.
    pub query: String,
}

impl BackgroundExport {
    fn of(path: &'static str, query: &[(String, String)]) -> Option<Self> {
        let entity = path.strip_prefix('/')?;
        entity.parse::<rivet_domain::exports::ExportEntity>().ok()?;
        Some(Self {
            entity,
            query: serde_urlencoded::to_string(exported_pairs(query)).unwrap_or_default(),
        })
    }
}

/// Whether the page asks for every row ticked; the parameter leaves `raw` (it is no filter, and
/// no saved view keeps it). Call before the views bar reads `raw`.
pub(super) fn take_select_all(raw: &mut Vec<(String, String)>) -> bool {
    let all = super::list::value_of(raw, SELECT_PARAM) == "all";
    raw.retain(|(k, _)| k != SELECT_PARAM);
    all
}

impl RecordList {
    /// The list page of `decl` with what every list has from the caller's rights, the views bar
    /// and the links; the page adds its filters, bulk actions and rows.
    ///
    /// `raw` is the page's query string (its links keep it, less the cursor), `next_cursor` where
    /// the next page starts.
    pub fn new(
        ctx: &Ctx,
        decl: &'static ListDecl,
        views: ViewsBar,
        (raw, next_cursor): (&[(String, String)], Option<String>),
        errors: FormErrors,
        select_all: bool,
    ) -> Self {
        let resource = decl.page.resource;
        let path = decl.page.path;
        let links = ListLinks::new(path, raw, decl.columns, next_cursor);
        let can_create = decl.new_label.is_some() && ctx.can(resource, Action::Create);
        let can_update = ctx.can(resource, Action::Update);
        let can_delete = ctx.can(resource, Action::Delete);
        let new_href = format!("{path}/new");
        let mut header_links: Vec<HeaderLink> = decl
            .new_label
            .filter(|_| can_create)
            .map(|label| HeaderLink {
                href: new_href.clone(),
                label,
                primary: true,
            })
            .into_iter()
            .collect();
        header_links.extend(export_links(path, raw));
        // The import wizard, for the records an import writes.
        if let Some(entity) = path
            .strip_prefix('/')
            .filter(|p| ["leads", "contacts", "accounts", "deals"].contains(p))
            .filter(|_| ctx.can(resource, Action::Create))
        {
            header_links.push(HeaderLink {
                href: format!("/imports?entity={entity}"),
                label: "Import",
                primary: false,
            });
        }
        // The rows an import created (`import_id=`, the import's "records it created" link):
        // the filter form keeps it, and the heading says so.
        let import_id = super::list::value_of(raw, "import_id");
        let (heading, hidden) = if import_id.is_empty() {
            (decl.heading.to_owned(), Vec::new())
        } else {
            (
                format!("The {} an import created", decl.nouns),
                vec![("import_id", import_id.to_owned())],
            )
        };
        let select_href = format!(
            "{}{}{SELECT_PARAM}=all",
            links.back,
            if links.back.contains('?') { '&' } else { '?' }
        );
        Self {
            layout: ctx.layout(decl.title),
            decl,
            blurb: decl.blurb.to_owned(),
            header_links,
            background_export: BackgroundExport::of(path, raw),
            tabs: None,
            heading,
            errors,
            clear_href: views.all_href.clone(),
            views,
            hidden,
            filters: Vec::new(),
            filtered: links.filtered,
            add_first: can_create.then_some(new_href),
            bulk: (can_update || can_delete).then(|| BulkBar {
                actions: Vec::new(),
                delete: can_delete,
            }),
            can_update,
            columns: links.columns,
            rows: Vec::new(),
            select_all,
            select_href,
            back: links.back,
            first_href: links.first_href,
            next_href: links.next_href,
        }
    }

    /// The export links for the list as the API's query `api` reads it (where the page's own
    /// parameters are not the API's: the tasks' tabs, the activities' days).
    pub fn export_query(&mut self, api: &[(String, String)]) {
        let path = self.decl.page.path;
        self.header_links.retain(|l| !l.href.starts_with("/api/"));
        self.header_links.extend(export_links(path, api));
        self.background_export = BackgroundExport::of(path, api);
    }

    /// A bulk action changing a field, offered to who may update the records.
    pub fn bulk_select(
        &mut self,
        (field, label): (&'static str, &'static str),
        options: Vec<Opt>,
        (action, button): (&'static str, &'static str),
    ) {
        if let (Some(bulk), true) = (&mut self.bulk, self.can_update) {
            bulk.actions.push(BulkSelect {
                field,
                label,
                options,
                action,
                button,
            });
        }
    }

    /// The bulk "Change owner", offered to who may update the records.
    pub fn bulk_owner(&mut self, owners: &Owners) {
        self.bulk_select(
            ("owner_id", "New owner"),
            owners.options(Some("Choose an owner"), ""),
            ("owner", "Change owner"),
        );
    }

    /// The page, `400` when its query string was not valid.
    pub fn render(self, ctx: &Ctx) -> Response {
        let status = if self.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        ctx.render_status(status, &self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::list::Col;
    use crate::web::views_bar::ListSpec;
    use rivet_domain::Resource;

    const PAGE: ListSpec = ListSpec::plain(Resource::Leads, "/leads");
    const LIST: ListDecl = ListDecl {
        page: &PAGE,
        key: "leads",
        title: "Leads",
        blurb: "People who may buy.",
        heading: "All leads you can see",
        noun: "lead",
        nouns: "leads",
        new_label: Some("New lead"),
        empty: "There are no leads yet.",
        add_first: "Add the first one",
        columns: &[
            Col::sorts("Name", "last_name"),
            Col::plain("Owner"),
            Col::sorts_down("Score", "total_score").class("num"),
            Col::plain("Actions").hidden(),
        ],
    };

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The page as a caller who may create, update and delete sees it, with `raw` as its query
    /// string and the next page at `next`.
    fn list(raw: &[(String, String)], next: Option<&str>) -> RecordList {
        let links = ListLinks::new(PAGE.path, raw, LIST.columns, next.map(str::to_owned));
        RecordList {
            layout: Layout::for_test("Leads"),
            decl: &LIST,
            blurb: LIST.blurb.into(),
            header_links: Vec::new(),
            background_export: BackgroundExport::of(PAGE.path, raw),
            tabs: None,
            heading: LIST.heading.into(),
            errors: FormErrors::new(),
            views: ViewsBar {
                resource: "leads",
                views: Vec::new(),
                all_href: "/leads?view=all".into(),
                plain: true,
                current: None,
                return_to: "/leads".into(),
            },
            hidden: Vec::new(),
            filters: vec![Filter::search("Name", raw)],
            filtered: links.filtered,
            clear_href: "/leads?view=all".into(),
            add_first: Some("/leads/new".into()),
            bulk: Some(BulkBar {
                actions: Vec::new(),
                delete: true,
            }),
            can_update: true,
            columns: links.columns,
            rows: Vec::new(),
            select_all: false,
            select_href: format!("{}?select=all", links.back),
            back: links.back,
            first_href: links.first_href,
            next_href: links.next_href,
        }
    }

    #[test]
    fn rows_show_their_cells_by_kind_with_a_checkbox_in_the_bulk_form() -> askama::Result<()> {
        let raw = pairs(&[("sort", "last_name"), ("q", "ada")]);
        let mut page = list(&raw, Some("next"));
        page.bulk_select(("status", "New status"), Vec::new(), ("status", "Set"));
        let id = Uuid::nil();
        page.rows = vec![Row {
            id,
            name: "Ada".into(),
            class: "lead-hot",
            cells: vec![
                Cell::title("Ada", Some("/leads/1".into()), "ada@acme.test"),
                Cell::text(""),
                Cell::text("42").class("num"),
                Cell::button(Some("/leads/1/call".into()), "Call"),
            ],
        }];
        let html = Template::render(&page)?;
        for needle in [
            &format!(r#"<tr class="lead-hot" data-lead-id="{id}">"#),
            &format!(
                r#"form="bulk" name="ids" value="{id}" id="select-{id}" aria-label="Select Ada">"#
            ),
            r#"<a class="strong" href="/leads/1">Ada</a><div class="muted small">ada@acme.test</div>"#,
            r#"<td><span class="muted">—</span></td>"#,
            r#"<td class="num">42</td>"#,
            r#"<form method="post" action="/leads/1/call">"#,
            r#"Call<span class="sr-only"> Ada</span>"#,
            r#"action="/leads/bulk" id="bulk""#,
            r#"name="action" value="status">Set</button>"#,
            r#"value="delete">Delete…</button>"#,
            r#"aria-sort="ascending"><a class="sort-link" href="/leads?q=ada&#38;sort=-last_name">"#,
            r#"aria-sort="none" class="num"><a class="sort-link" href="/leads?q=ada&#38;sort=-total_score">"#,
            r#"<th scope="col"><span class="sr-only">Actions</span></th>"#,
            "select every lead on this page",
            "Next page →",
            r#"<a class="btn btn-ghost" href="/leads?view=all">Clear</a>"#,
        ] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
        Ok(())
    }

    #[test]
    fn an_empty_list_says_whether_filters_hide_its_records() -> askama::Result<()> {
        let html = Template::render(&list(&[], None))?;
        assert!(html.contains(
            r#"<p>There are no leads yet. <a href="/leads/new">Add the first one</a>.</p>"#
        ));
        assert!(!html.contains("<table") && !html.contains("Next page"));
        let html = Template::render(&list(&pairs(&[("q", "zzz")]), None))?;
        assert!(html.contains("No leads match these filters."), "{html}");
        Ok(())
    }

    #[test]
    fn a_caller_who_may_not_update_gets_no_update_actions() {
        let mut page = list(&[], None);
        page.can_update = false;
        page.bulk_select(("status", "New status"), Vec::new(), ("status", "Set"));
        assert!(
            page.bulk
                .is_some_and(|bulk| bulk.actions.is_empty() && bulk.delete)
        );
        assert_eq!(LIST.count(1), "1 lead");
        assert_eq!(LIST.count(2), "2 leads");
    }
}
