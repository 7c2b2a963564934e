//! The province's topics, its resource capital and the problems its working group
//! records: the lists, their filters (a resource covering an area from a level above
//! counts; Thai search by substring), and the changes made through the API.
//!
//! Audience: everything here is public but a resource's contact and who changed a row
//! through the API, which only admins see until roles exist (issue 16). Every change
//! needs the admin token.

use crate::areas::{Agency, Area};
use crate::connection::{paged, text_cursor, Conn};
use crate::error::{failure, internal, CodeExt};
use crate::loaders::{load_node, Loaders};
use crate::{store, Caller};
use abe_schema::registry::split_list;
use abe_schema::{Code, ProblemRow, ResourceRow};
use abe_store::{ChangeRefused, ProblemFilter, ProblemRecord, ResourceFilter, ResourceRecord};
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// The four categories of resource capital.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::ResourceCategory")]
pub enum ResourceCategory {
    /// ด้านข้อมูล / สารสนเทศ: data and information.
    Data,
    /// ด้านการดำเนินงาน: budget, people, agencies, organisations.
    Operations,
    /// ด้านองค์ความรู้ / ชุดความรู้ / นวัตกรรม: knowledge, know-how, innovations.
    Knowledge,
    /// ด้านนโยบาย / ทุนทางสังคม: policy and social capital.
    Policy,
}

/// What a resource's amount counts.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::ResourceUnit")]
pub enum ResourceUnit {
    /// Thai baht.
    Baht,
    /// People.
    People,
    /// Places.
    Places,
    /// Items.
    Items,
    /// Hours.
    Hours,
}

/// Where a resource or problem was recorded.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::RecordOrigin")]
pub enum RecordOrigin {
    /// A connector's source.
    Connector,
    /// A workshop workbook.
    Workshop,
    /// Entered through the API.
    Api,
}

/// How serious a problem is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::ProblemSeverity")]
pub enum ProblemSeverity {
    /// Watch it.
    Low,
    /// Plan for it.
    Medium,
    /// Act on it first.
    High,
}

/// Where a problem stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::ProblemStatus")]
pub enum ProblemStatus {
    /// Nobody is on it yet.
    Open,
    /// Someone is working on it.
    BeingAddressed,
    /// Done.
    Closed,
}

/// A topic: what links indicators, alerts, problems and resources.
#[derive(SimpleObject)]
pub struct Topic {
    /// Code.
    pub code: String,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: String,
}

impl From<abe_schema::Topic> for Topic {
    fn from(t: abe_schema::Topic) -> Self {
        Topic {
            code: t.code,
            name_th: t.name_th,
            name_en: t.name_en,
        }
    }
}

/// A subcategory of a resource category.
#[derive(SimpleObject)]
pub struct Subcategory {
    /// Stored word, as filters and inputs take it.
    pub code: &'static str,
    /// Thai label.
    pub label_th: &'static str,
    /// English label.
    pub label_en: &'static str,
}

/// A resource category with its labels and subcategories.
#[derive(SimpleObject)]
pub struct CategoryInfo {
    /// The category.
    pub category: ResourceCategory,
    /// Its number in EEF's list (1 to 4).
    pub number: i32,
    /// Thai label.
    pub label_th: &'static str,
    /// English label.
    pub label_en: &'static str,
    /// Its subcategories.
    pub subcategories: Vec<Subcategory>,
}

/// A resource of the registry.
pub struct Resource(pub ResourceRecord);

#[Object]
impl Resource {
    /// Stable code.
    async fn code(&self) -> &str {
        &self.0.row.code
    }
    /// Thai title.
    async fn title_th(&self) -> &str {
        &self.0.row.title_th
    }
    /// English title.
    async fn title_en(&self) -> Option<&str> {
        self.0.row.title_en.as_deref()
    }
    /// Thai description.
    async fn description_th(&self) -> Option<&str> {
        self.0.row.description_th.as_deref()
    }
    /// English description.
    async fn description_en(&self) -> Option<&str> {
        self.0.row.description_en.as_deref()
    }
    /// Category.
    async fn category(&self) -> ResourceCategory {
        self.0.row.category.into()
    }
    /// Subcategory word (see `resourceCategories` for labels).
    async fn subcategory(&self) -> Option<&str> {
        self.0.row.subcategory.as_deref()
    }
    /// Code of the agency that holds it.
    async fn agency_code(&self) -> Option<&str> {
        self.0.row.agency.as_deref()
    }
    /// The agency that holds it.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        match &self.0.row.agency {
            Some(code) => load_node(&ctx.data::<Loaders>()?.agencies, code.clone()).await,
            None => Ok(None),
        }
    }
    /// Who to ask about it. Admins only until partner roles exist; null for others
    /// (see `hasContact`).
    async fn contact(&self, ctx: &Context<'_>) -> Option<&str> {
        Caller::of(ctx)
            .is_admin()
            .then_some(self.0.row.contact.as_deref())
            .flatten()
    }
    /// Whether a contact is on record.
    async fn has_contact(&self) -> bool {
        self.0.row.contact.is_some()
    }
    /// Codes of the areas it covers (each covers the areas under it too).
    async fn area_codes(&self) -> Vec<&str> {
        split_list(&self.0.row.areas).collect()
    }
    /// The areas it covers.
    async fn areas(&self, ctx: &Context<'_>) -> Result<Vec<Area>> {
        let codes: Vec<String> = split_list(&self.0.row.areas).map(str::to_string).collect();
        let found = ctx
            .data::<Loaders>()?
            .areas
            .load_many(codes.clone())
            .await?;
        Ok(codes
            .iter()
            .filter_map(|c| found.get(c).cloned().map(Area::from))
            .collect())
    }
    /// Codes of the topics it serves.
    async fn topic_codes(&self) -> Vec<&str> {
        split_list(&self.0.row.topics).collect()
    }
    /// The topics it serves.
    async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<Topic>> {
        let codes: Vec<String> = split_list(&self.0.row.topics).map(str::to_string).collect();
        let found = ctx
            .data::<Loaders>()?
            .topics
            .load_many(codes.clone())
            .await?;
        Ok(codes
            .iter()
            .filter_map(|c| found.get(c).cloned().map(Topic::from))
            .collect())
    }
    /// How much of it there is.
    async fn amount(&self) -> Option<f64> {
        self.0.row.amount
    }
    /// What the amount counts.
    async fn unit(&self) -> Option<ResourceUnit> {
        self.0.row.unit.map(Into::into)
    }
    /// First day it is available.
    async fn valid_from(&self) -> Option<&str> {
        self.0.row.valid_from.as_deref()
    }
    /// Last day it is available.
    async fn valid_to(&self) -> Option<&str> {
        self.0.row.valid_to.as_deref()
    }
    /// Where it was recorded.
    async fn origin(&self) -> RecordOrigin {
        self.0.row.origin.into()
    }
    /// The connector that loaded it; null when entered through the API.
    async fn connector(&self) -> Option<&str> {
        self.0
            .connector
            .as_deref()
            .filter(|c| *c != abe_store::API_WRITER)
    }
    /// The run that last wrote it.
    async fn run_id(&self) -> Option<i64> {
        self.0.run_id
    }
    /// When it was last changed through the API.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at
    }
    /// Who last changed it through the API (admins only).
    async fn updated_by(&self, ctx: &Context<'_>) -> Option<&str> {
        admin_only(ctx, self.0.updated_by.as_deref())
    }
    /// The day it was retired; retired resources are listed only when asked for.
    async fn retired_on(&self) -> Option<&str> {
        self.0.retired_on.as_deref()
    }
    /// Who retired it (admins only); null when its connector's source dropped it.
    async fn retired_by(&self, ctx: &Context<'_>) -> Option<&str> {
        admin_only(ctx, self.0.retired_by.as_deref())
    }
}

fn admin_only<'a>(ctx: &Context<'_>, value: Option<&'a str>) -> Option<&'a str> {
    Caller::of(ctx).is_admin().then_some(value).flatten()
}

/// A problem a working group recorded.
pub struct Problem(pub ProblemRecord);

#[Object]
impl Problem {
    /// Stable code.
    async fn code(&self) -> &str {
        &self.0.row.code
    }
    /// Code of its area.
    async fn area_code(&self) -> &str {
        &self.0.row.area_code
    }
    /// Its area.
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, self.0.row.area_code.clone()).await
    }
    /// Its topic's code.
    async fn topic_code(&self) -> &str {
        &self.0.row.topic
    }
    /// Its topic.
    async fn topic(&self, ctx: &Context<'_>) -> Result<Option<Topic>> {
        load_node(&ctx.data::<Loaders>()?.topics, self.0.row.topic.clone()).await
    }
    /// The problem in Thai.
    async fn statement_th(&self) -> &str {
        &self.0.row.statement_th
    }
    /// The problem in English.
    async fn statement_en(&self) -> Option<&str> {
        self.0.row.statement_en.as_deref()
    }
    /// The group that raised it.
    async fn group(&self) -> Option<&str> {
        self.0.row.group_name.as_deref()
    }
    /// The workshop that raised it.
    async fn workshop(&self) -> Option<&str> {
        self.0.row.workshop.as_deref()
    }
    /// The day it was raised.
    async fn raised_on(&self) -> Option<&str> {
        self.0.row.raised_on.as_deref()
    }
    /// How serious.
    async fn severity(&self) -> ProblemSeverity {
        self.0.row.severity.into()
    }
    /// Where it stands.
    async fn status(&self) -> ProblemStatus {
        self.0.row.status.into()
    }
    /// Children concerned, when known.
    async fn children(&self) -> Option<i64> {
        self.0.row.children.map(|c| c as i64)
    }
    /// Where it was recorded.
    async fn origin(&self) -> RecordOrigin {
        self.0.row.origin.into()
    }
    /// The connector that loaded it; null when entered through the API.
    async fn connector(&self) -> Option<&str> {
        self.0
            .connector
            .as_deref()
            .filter(|c| *c != abe_store::API_WRITER)
    }
    /// When it was last changed through the API.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at
    }
    /// Who last changed it through the API (admins only).
    async fn updated_by(&self, ctx: &Context<'_>) -> Option<&str> {
        admin_only(ctx, self.0.updated_by.as_deref())
    }
    /// The day its source dropped it; such problems are listed only when asked for.
    async fn retired_on(&self) -> Option<&str> {
        self.0.retired_on.as_deref()
    }
}

/// Which resources to list; every condition given must hold.
#[derive(InputObject, Default)]
pub struct ResourceFilterInput {
    /// Codes.
    pub codes: Option<Vec<String>>,
    /// Categories.
    pub categories: Option<Vec<ResourceCategory>>,
    /// Subcategory words.
    pub subcategories: Option<Vec<String>>,
    /// Resources available in this area: named for it or for an area above it (a
    /// province-wide resource covers every district and subdistrict in it).
    pub area: Option<String>,
    /// Resources covering some area in or under this one.
    pub within: Option<String>,
    /// Topic codes, any of them.
    pub topics: Option<Vec<String>>,
    /// Agency codes.
    pub agencies: Option<Vec<String>>,
    /// Valid on this day (`2026-12-03`).
    pub valid_on: Option<NaiveDate>,
    /// Text anywhere in a title or description; Thai is matched as a substring, as it
    /// has no spaces between words.
    pub search: Option<String>,
    /// Retired resources too.
    #[graphql(default = false)]
    pub include_retired: bool,
}

/// An area code a caller gave, normalised (Thai digits, spaces), or a BAD_INPUT naming
/// `field`.
pub(crate) fn area_argument(field: &str, code: &str) -> Result<String> {
    abe_schema::thai::normalise_area_code(code)
        .map(|(code, _)| code)
        .map_err(|e| Code::BadInput.error(format!("{field}: {e}")))
}

impl ResourceFilterInput {
    fn into_filter(self) -> Result<ResourceFilter> {
        let f = self;
        Ok(ResourceFilter {
            codes: f.codes.unwrap_or_default(),
            categories: f
                .categories
                .unwrap_or_default()
                .into_iter()
                .map(|c| abe_schema::ResourceCategory::from(c).as_str().to_string())
                .collect(),
            subcategories: f.subcategories.unwrap_or_default(),
            covering: f.area.map(|a| area_argument("area", &a)).transpose()?,
            within: f.within.map(|a| area_argument("within", &a)).transpose()?,
            topics: f.topics.unwrap_or_default(),
            agencies: f.agencies.unwrap_or_default(),
            valid_on: f.valid_on,
            search: f.search,
            include_retired: f.include_retired,
        })
    }
}

/// Which problems to list.
#[derive(InputObject, Default)]
pub struct ProblemFilterInput {
    /// Codes.
    pub codes: Option<Vec<String>>,
    /// Problems in this area or under it.
    pub area: Option<String>,
    /// Topic codes.
    pub topics: Option<Vec<String>>,
    /// Statuses.
    pub statuses: Option<Vec<ProblemStatus>>,
    /// Severities.
    pub severities: Option<Vec<ProblemSeverity>>,
    /// Problems their source dropped too.
    #[graphql(default = false)]
    pub include_retired: bool,
}

impl ProblemFilterInput {
    fn into_filter(self) -> Result<ProblemFilter> {
        let f = self;
        Ok(ProblemFilter {
            codes: f.codes.unwrap_or_default(),
            within: f.area.map(|a| area_argument("area", &a)).transpose()?,
            topics: f.topics.unwrap_or_default(),
            statuses: f
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(|s| abe_schema::ProblemStatus::from(s).as_str().to_string())
                .collect(),
            severities: f
                .severities
                .unwrap_or_default()
                .into_iter()
                .map(|s| abe_schema::ProblemSeverity::from(s).as_str().to_string())
                .collect(),
            include_retired: f.include_retired,
        })
    }
}

/// Reads of the registry.
#[derive(Default)]
pub struct RegistryQuery;

#[Object]
impl RegistryQuery {
    /// The topic list, in its order.
    async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<Topic>> {
        Ok(store(ctx)?
            .topics()
            .await
            .map_err(failure)?
            .into_iter()
            .map(Topic::from)
            .collect())
    }

    /// The four resource categories with their Thai and English labels and
    /// subcategories.
    async fn resource_categories(&self) -> Vec<CategoryInfo> {
        abe_schema::ResourceCategory::ALL
            .iter()
            .enumerate()
            .map(|(i, &c)| CategoryInfo {
                category: c.into(),
                number: i as i32 + 1,
                label_th: c.label_th(),
                label_en: c.label_en(),
                subcategories: c
                    .subcategories()
                    .iter()
                    .map(|s| Subcategory {
                        code: s.code,
                        label_th: s.label_th,
                        label_en: s.label_en,
                    })
                    .collect(),
            })
            .collect()
    }

    /// Resources matching `filter` (not retired unless asked), by code.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn resources(
        &self,
        ctx: &Context<'_>,
        filter: Option<ResourceFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Resource>> {
        let filter = filter.unwrap_or_default().into_filter()?;
        let store = store(ctx)?;
        paged(
            first,
            after,
            text_cursor,
            |after, first| store.resources(&filter, after, first),
            |r| r.row.code.clone(),
            |r| Ok(Resource(r)),
        )
        .await
    }

    /// One resource by code, retired or not.
    async fn resource(&self, ctx: &Context<'_>, code: String) -> Result<Option<Resource>> {
        resource_by_code(store(ctx)?, code).await
    }

    /// Problems matching `filter`, by code.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn problems(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProblemFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Problem>> {
        let filter = filter.unwrap_or_default().into_filter()?;
        let store = store(ctx)?;
        paged(
            first,
            after,
            text_cursor,
            |after, first| store.problems(&filter, after, first),
            |p| p.row.code.clone(),
            |p| Ok(Problem(p)),
        )
        .await
    }
}

/// A resource as entered through the API; checked as a loaded row is.
#[derive(InputObject)]
pub struct ResourceInput {
    /// Stable code.
    pub code: String,
    /// Thai title.
    pub title_th: String,
    /// English title.
    pub title_en: Option<String>,
    /// Thai description.
    pub description_th: Option<String>,
    /// English description.
    pub description_en: Option<String>,
    /// Category.
    pub category: ResourceCategory,
    /// Subcategory word of the category.
    pub subcategory: Option<String>,
    /// Code of the agency that holds it.
    pub agency: Option<String>,
    /// Who to ask.
    pub contact: Option<String>,
    /// Codes of the areas it covers (any level).
    pub areas: Vec<String>,
    /// Topic codes.
    #[graphql(default)]
    pub topics: Vec<String>,
    /// How much.
    pub amount: Option<f64>,
    /// What the amount counts.
    pub unit: Option<ResourceUnit>,
    /// First day available.
    pub valid_from: Option<NaiveDate>,
    /// Last day available.
    pub valid_to: Option<NaiveDate>,
}

impl ResourceInput {
    fn fields(self) -> BTreeMap<&'static str, String> {
        let mut f = BTreeMap::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                f.insert(k, v);
            }
        };
        put("code", Some(self.code));
        put("title_th", Some(self.title_th));
        put("title_en", self.title_en);
        put("description_th", self.description_th);
        put("description_en", self.description_en);
        put(
            "category",
            Some(abe_schema::ResourceCategory::from(self.category).to_string()),
        );
        put("subcategory", self.subcategory);
        put("agency", self.agency);
        put("contact", self.contact);
        put("areas", Some(self.areas.join(";")));
        put("topics", Some(self.topics.join(";")));
        put("amount", self.amount.map(|a| a.to_string()));
        put(
            "unit",
            self.unit
                .map(|u| abe_schema::ResourceUnit::from(u).to_string()),
        );
        put("valid_from", self.valid_from.map(|d| d.to_string()));
        put("valid_to", self.valid_to.map(|d| d.to_string()));
        put("origin", Some(abe_schema::RecordOrigin::Api.to_string()));
        f
    }
}

/// A problem as entered through the API.
#[derive(InputObject)]
pub struct ProblemInput {
    /// Stable code.
    pub code: String,
    /// Area code (any level).
    pub area: String,
    /// Topic code.
    pub topic: String,
    /// The problem in Thai.
    pub statement_th: String,
    /// The problem in English.
    pub statement_en: Option<String>,
    /// The group that raised it.
    pub group: Option<String>,
    /// The workshop that raised it.
    pub workshop: Option<String>,
    /// The day it was raised.
    pub raised_on: Option<NaiveDate>,
    /// How serious (medium when not given).
    pub severity: Option<ProblemSeverity>,
    /// Where it stands (open when not given).
    pub status: Option<ProblemStatus>,
    /// Children concerned.
    pub children: Option<i64>,
}

impl ProblemInput {
    fn fields(self) -> BTreeMap<&'static str, String> {
        let mut f = BTreeMap::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                f.insert(k, v);
            }
        };
        put("code", Some(self.code));
        put("area", Some(self.area));
        put("topic", Some(self.topic));
        put("statement_th", Some(self.statement_th));
        put("statement_en", self.statement_en);
        put("group", self.group);
        put("workshop", self.workshop);
        put("raised_on", self.raised_on.map(|d| d.to_string()));
        put(
            "severity",
            self.severity
                .map(|s| abe_schema::ProblemSeverity::from(s).to_string()),
        );
        put(
            "status",
            self.status
                .map(|s| abe_schema::ProblemStatus::from(s).to_string()),
        );
        put("children", self.children.map(|c| c.to_string()));
        put("origin", Some(abe_schema::RecordOrigin::Api.to_string()));
        f
    }
}

/// Changes to the registry. Each needs the admin token and names who acts.
#[derive(Default)]
pub struct RegistryMutation;

fn actor(ctx: &Context<'_>, by: &str) -> Result<String> {
    ctx.data::<crate::Operations>()?.authorize(ctx)?;
    let by = by.trim();
    if by.is_empty() {
        return Err(Code::BadInput.error("`by` names who makes the change"));
    }
    Ok(by.to_string())
}

fn refused(r: ChangeRefused) -> async_graphql::Error {
    let code = match r {
        ChangeRefused::NotFound { .. } => Code::NotFound,
        ChangeRefused::Exists { .. }
        | ChangeRefused::AlreadyRetired { .. }
        | ChangeRefused::LoadedByConnector { .. } => Code::BadInput,
    };
    code.error(r.to_string())
}

async fn checked<R: abe_schema::TargetRow>(
    ctx: &Context<'_>,
    fields: BTreeMap<&'static str, String>,
) -> Result<R> {
    abe_pipeline::check_entry::<R>(store(ctx)?, &fields)
        .await
        .map_err(failure)?
        .map_err(|e| Code::BadInput.error(e.to_string()))
}

impl RegistryMutation {
    async fn save_resource(
        ctx: &Context<'_>,
        input: ResourceInput,
        by: String,
        mode: abe_store::SaveMode,
    ) -> Result<Resource> {
        let by = actor(ctx, &by)?;
        let code = input.code.clone();
        let row: ResourceRow = checked(ctx, input.fields()).await?;
        let store = store(ctx)?;
        store
            .save_resource(&row, mode, &by, Utc::now())
            .await
            .map_err(failure)?
            .map_err(refused)?;
        fetch_resource(store, code).await
    }

    async fn save_problem(
        ctx: &Context<'_>,
        input: ProblemInput,
        by: String,
        mode: abe_store::SaveMode,
    ) -> Result<Problem> {
        let by = actor(ctx, &by)?;
        let code = input.code.clone();
        let row: ProblemRow = checked(ctx, input.fields()).await?;
        let store = store(ctx)?;
        store
            .save_problem(&row, mode, &by, Utc::now())
            .await
            .map_err(failure)?
            .map_err(refused)?;
        fetch_problem(store, code).await
    }
}

/// The resource `code`, retired or not.
async fn resource_by_code(store: &abe_store::Store, code: String) -> Result<Option<Resource>> {
    let filter = ResourceFilter {
        codes: vec![code],
        include_retired: true,
        ..ResourceFilter::default()
    };
    let page = store.resources(&filter, None, 1).await.map_err(failure)?;
    Ok(page.items.into_iter().next().map(Resource))
}

async fn fetch_resource(store: &abe_store::Store, code: String) -> Result<Resource> {
    resource_by_code(store, code)
        .await?
        .ok_or_else(|| internal("a resource just saved is not there"))
}

async fn fetch_problem(store: &abe_store::Store, code: String) -> Result<Problem> {
    let filter = ProblemFilter {
        codes: vec![code],
        ..ProblemFilter::default()
    };
    let page = store.problems(&filter, None, 1).await.map_err(failure)?;
    page.items
        .into_iter()
        .next()
        .map(Problem)
        .ok_or_else(|| internal("a problem just saved is not there"))
}

#[Object]
impl RegistryMutation {
    /// Adds a resource; its code must be new. Checked as a loaded row is: known areas,
    /// topics and agency, the category's subcategories, an amount with its unit.
    async fn create_resource(
        &self,
        ctx: &Context<'_>,
        input: ResourceInput,
        by: String,
    ) -> Result<Resource> {
        RegistryMutation::save_resource(ctx, input, by, abe_store::SaveMode::Create).await
    }

    /// Replaces a resource entered through the API. One a connector loads changes only
    /// in its source, and is refused here.
    async fn update_resource(
        &self,
        ctx: &Context<'_>,
        input: ResourceInput,
        by: String,
    ) -> Result<Resource> {
        RegistryMutation::save_resource(ctx, input, by, abe_store::SaveMode::Update).await
    }

    /// Retires a resource (today, unless `on` says): it leaves the registry's lists
    /// and the gap analysis, and stays in history (`includeRetired`).
    async fn retire_resource(
        &self,
        ctx: &Context<'_>,
        code: String,
        by: String,
        on: Option<NaiveDate>,
    ) -> Result<Resource> {
        let by = actor(ctx, &by)?;
        let store = store(ctx)?;
        store
            .retire_resource(&code, on.unwrap_or_else(|| Utc::now().date_naive()), &by)
            .await
            .map_err(failure)?
            .map_err(refused)?;
        fetch_resource(store, code).await
    }

    /// Adds a problem; its code must be new.
    async fn create_problem(
        &self,
        ctx: &Context<'_>,
        input: ProblemInput,
        by: String,
    ) -> Result<Problem> {
        RegistryMutation::save_problem(ctx, input, by, abe_store::SaveMode::Create).await
    }

    /// Replaces a problem entered through the API (one a connector loads changes in
    /// its source).
    async fn update_problem(
        &self,
        ctx: &Context<'_>,
        input: ProblemInput,
        by: String,
    ) -> Result<Problem> {
        RegistryMutation::save_problem(ctx, input, by, abe_store::SaveMode::Update).await
    }

    /// Moves a problem entered through the API to `status`.
    async fn set_problem_status(
        &self,
        ctx: &Context<'_>,
        code: String,
        status: ProblemStatus,
        by: String,
    ) -> Result<Problem> {
        let by = actor(ctx, &by)?;
        let store = store(ctx)?;
        store
            .set_problem_status(&code, status.into(), &by, Utc::now())
            .await
            .map_err(failure)?
            .map_err(refused)?;
        fetch_problem(store, code).await
    }
}
