//! The province's topics, its resource capital and the problems its working group
//! records: the lists, their filters (a resource covering an area from a level above
//! counts; Thai search by substring), and the changes made through the API.
//!
//! Audience: everything here is public but a resource's contact and who changed a row
//! through the API, which only admins see until roles exist (issue 16). Every change
//! needs the admin token.

use crate::areas::{Agency, Area};
use crate::connection::{paged, text_cursor, Conn};
use crate::error::{failure, CodeExt};
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
    /// ด้านองค์ความรู้ / นวัตกรรม: knowledge, know-how, innovations.
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

fn parse_word<T: std::str::FromStr>(word: &str, what: &str) -> Result<T> {
    word.parse()
        .map_err(|_| Code::Internal.error(format!("a stored {what} is not a known word")))
}

/// A resource of the registry.
pub struct Resource(pub ResourceRecord);

#[Object]
impl Resource {
    /// Stable code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Thai title.
    async fn title_th(&self) -> &str {
        &self.0.title_th
    }
    /// English title.
    async fn title_en(&self) -> Option<&str> {
        self.0.title_en.as_deref()
    }
    /// Thai description.
    async fn description_th(&self) -> Option<&str> {
        self.0.description_th.as_deref()
    }
    /// English description.
    async fn description_en(&self) -> Option<&str> {
        self.0.description_en.as_deref()
    }
    /// Category.
    async fn category(&self) -> Result<ResourceCategory> {
        parse_word::<abe_schema::ResourceCategory>(&self.0.category, "category").map(Into::into)
    }
    /// Subcategory word (see `resourceCategories` for labels).
    async fn subcategory(&self) -> Option<&str> {
        self.0.subcategory.as_deref()
    }
    /// Code of the agency that holds it.
    async fn agency_code(&self) -> Option<&str> {
        self.0.agency.as_deref()
    }
    /// The agency that holds it.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        match &self.0.agency {
            Some(code) => load_node(&ctx.data::<Loaders>()?.agencies, code.clone()).await,
            None => Ok(None),
        }
    }
    /// Who to ask about it. Admins only until partner roles exist; null for others
    /// (see `hasContact`).
    async fn contact(&self, ctx: &Context<'_>) -> Option<&str> {
        Caller::of(ctx)
            .is_admin()
            .then_some(self.0.contact.as_deref())
            .flatten()
    }
    /// Whether a contact is on record.
    async fn has_contact(&self) -> bool {
        self.0.contact.is_some()
    }
    /// Codes of the areas it covers (each covers the areas under it too).
    async fn area_codes(&self) -> Vec<&str> {
        split_list(&self.0.areas).collect()
    }
    /// The areas it covers.
    async fn areas(&self, ctx: &Context<'_>) -> Result<Vec<Area>> {
        let codes: Vec<String> = split_list(&self.0.areas).map(str::to_string).collect();
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
        split_list(&self.0.topics).collect()
    }
    /// The topics it serves.
    async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<Topic>> {
        let codes: Vec<String> = split_list(&self.0.topics).map(str::to_string).collect();
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
        self.0.amount
    }
    /// What the amount counts.
    async fn unit(&self) -> Result<Option<ResourceUnit>> {
        self.0
            .unit
            .as_deref()
            .map(|u| parse_word::<abe_schema::ResourceUnit>(u, "unit").map(Into::into))
            .transpose()
    }
    /// First day it is available.
    async fn valid_from(&self) -> Option<&str> {
        self.0.valid_from.as_deref()
    }
    /// Last day it is available.
    async fn valid_to(&self) -> Option<&str> {
        self.0.valid_to.as_deref()
    }
    /// Where it was recorded.
    async fn origin(&self) -> Result<RecordOrigin> {
        parse_word::<abe_schema::RecordOrigin>(&self.0.origin, "origin").map(Into::into)
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
    /// Who retired it (admins only).
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
        &self.0.code
    }
    /// Code of its area.
    async fn area_code(&self) -> &str {
        &self.0.area_code
    }
    /// Its area.
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, self.0.area_code.clone()).await
    }
    /// Its topic's code.
    async fn topic_code(&self) -> &str {
        &self.0.topic
    }
    /// Its topic.
    async fn topic(&self, ctx: &Context<'_>) -> Result<Option<Topic>> {
        load_node(&ctx.data::<Loaders>()?.topics, self.0.topic.clone()).await
    }
    /// The problem in Thai.
    async fn statement_th(&self) -> &str {
        &self.0.statement_th
    }
    /// The problem in English.
    async fn statement_en(&self) -> Option<&str> {
        self.0.statement_en.as_deref()
    }
    /// The group that raised it.
    async fn group(&self) -> Option<&str> {
        self.0.group_name.as_deref()
    }
    /// The workshop that raised it.
    async fn workshop(&self) -> Option<&str> {
        self.0.workshop.as_deref()
    }
    /// The day it was raised.
    async fn raised_on(&self) -> Option<&str> {
        self.0.raised_on.as_deref()
    }
    /// How serious.
    async fn severity(&self) -> Result<ProblemSeverity> {
        parse_word::<abe_schema::ProblemSeverity>(&self.0.severity, "severity").map(Into::into)
    }
    /// Where it stands.
    async fn status(&self) -> Result<ProblemStatus> {
        parse_word::<abe_schema::ProblemStatus>(&self.0.status, "status").map(Into::into)
    }
    /// Children concerned, when known.
    async fn children(&self) -> Option<i64> {
        self.0.children.map(|c| c as i64)
    }
    /// Where it was recorded.
    async fn origin(&self) -> Result<RecordOrigin> {
        parse_word::<abe_schema::RecordOrigin>(&self.0.origin, "origin").map(Into::into)
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

impl From<ResourceFilterInput> for ResourceFilter {
    fn from(f: ResourceFilterInput) -> Self {
        ResourceFilter {
            codes: f.codes.unwrap_or_default(),
            categories: f
                .categories
                .unwrap_or_default()
                .into_iter()
                .map(|c| abe_schema::ResourceCategory::from(c).as_str().to_string())
                .collect(),
            subcategories: f.subcategories.unwrap_or_default(),
            covering: f.area,
            within: f.within,
            topics: f.topics.unwrap_or_default(),
            agencies: f.agencies.unwrap_or_default(),
            valid_on: f.valid_on,
            search: f.search,
            include_retired: f.include_retired,
        }
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
}

impl From<ProblemFilterInput> for ProblemFilter {
    fn from(f: ProblemFilterInput) -> Self {
        ProblemFilter {
            codes: f.codes.unwrap_or_default(),
            within: f.area,
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
        }
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
        let filter = ResourceFilter::from(filter.unwrap_or_default());
        let store = store(ctx)?;
        paged(
            first,
            after,
            text_cursor,
            |after, first| store.resources(&filter, after, first),
            |r| r.code.clone(),
            |r| Ok(Resource(r)),
        )
        .await
    }

    /// One resource by code, retired or not.
    async fn resource(&self, ctx: &Context<'_>, code: String) -> Result<Option<Resource>> {
        let filter = ResourceFilter {
            codes: vec![code],
            include_retired: true,
            ..ResourceFilter::default()
        };
        let page = store(ctx)?
            .resources(&filter, None, 1)
            .await
            .map_err(failure)?;
        Ok(page.items.into_iter().next().map(Resource))
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
        let filter = ProblemFilter::from(filter.unwrap_or_default());
        let store = store(ctx)?;
        paged(
            first,
            after,
            text_cursor,
            |after, first| store.problems(&filter, after, first),
            |p| p.code.clone(),
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
        put("origin", Some("api".into()));
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
        put("origin", Some("api".into()));
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
        ChangeRefused::Exists { .. } | ChangeRefused::LoadedByConnector { .. } => Code::BadInput,
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

async fn fetch_resource(store: &abe_store::Store, code: String) -> Result<Resource> {
    let filter = ResourceFilter {
        codes: vec![code],
        include_retired: true,
        ..ResourceFilter::default()
    };
    let page = store.resources(&filter, None, 1).await.map_err(failure)?;
    page.items
        .into_iter()
        .next()
        .map(Resource)
        .ok_or_else(|| Code::Internal.error("the saved resource is gone"))
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
        .ok_or_else(|| Code::Internal.error("the saved problem is gone"))
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

/// What a gap item is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_analytics::gaps::ItemKind")]
pub enum GapItemKind {
    /// A problem recorded at a workshop or through the API.
    Problem,
    /// An open or acknowledged alert, counted as a problem of its indicator's topic.
    Alert,
}

/// How near a resource of the same topic is to an uncovered item.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_analytics::gaps::Distance")]
pub enum Distance {
    /// Named for another area of the same district.
    SameDistrict,
    /// Named for another area of the same province.
    SameProvince,
}

/// The gap analysis of an area: what its problems and alerts are, which resources cover
/// them, and where nothing does.
pub struct GapReport(std::sync::Arc<abe_analytics::GapAnswer>);

impl GapReport {
    fn item(&self, index: usize) -> GapItem {
        GapItem {
            answer: self.0.clone(),
            index,
        }
    }

    fn coverage(
        &self,
        list: fn(&abe_analytics::GapReport) -> &Vec<abe_analytics::gaps::Coverage>,
        by_area: bool,
    ) -> Vec<GapCoverage> {
        (0..list(&self.0.report).len())
            .map(|index| GapCoverage {
                answer: self.0.clone(),
                list,
                index,
                by_area,
            })
            .collect()
    }
}

#[Object]
impl GapReport {
    /// The area asked about.
    async fn area_code(&self) -> &str {
        &self.0.report.area_code
    }
    /// Every problem and alert in the area and under it: uncovered first, then by
    /// severity, children concerned and area.
    async fn items(&self) -> Vec<GapItem> {
        (0..self.0.report.items.len())
            .map(|i| self.item(i))
            .collect()
    }
    /// The problems and alerts no resource covers, in the same order.
    async fn uncovered(&self) -> Vec<GapItem> {
        (0..self.0.report.items.len())
            .filter(|&i| !self.0.report.items[i].covered())
            .map(|i| self.item(i))
            .collect()
    }
    /// Coverage per topic, worst first (lowest share covered, then most children
    /// uncovered).
    async fn by_topic(&self) -> Vec<GapCoverage> {
        self.coverage(|r| &r.by_topic, false)
    }
    /// Coverage per area one level down (items at the area's own level under the area
    /// itself), worst first.
    async fn by_area(&self) -> Vec<GapCoverage> {
        self.coverage(|r| &r.by_area, true)
    }
    /// Areas with critical alerts, most alerts and fewest resources first.
    async fn hotspots(&self) -> Vec<GapCoverage> {
        self.coverage(|r| &r.hotspots, true)
    }
}

/// A problem or an alert of a gap report, with the resources that cover it.
pub struct GapItem {
    answer: std::sync::Arc<abe_analytics::GapAnswer>,
    index: usize,
}

impl GapItem {
    fn get(&self) -> &abe_analytics::GapItem {
        &self.answer.report.items[self.index]
    }

    fn resources<'a>(&self, codes: impl Iterator<Item = &'a String>) -> Vec<Resource> {
        codes
            .filter_map(|c| self.answer.resources.get(c).cloned().map(Resource))
            .collect()
    }
}

/// A resource near an uncovered item.
pub struct NearbyResource {
    resource: ResourceRecord,
    distance: Distance,
}

#[Object]
impl NearbyResource {
    /// How near.
    async fn distance(&self) -> Distance {
        self.distance
    }
    /// The resource.
    async fn resource(&self) -> Resource {
        Resource(self.resource.clone())
    }
}

#[Object]
impl GapItem {
    /// Problem or alert.
    async fn kind(&self) -> GapItemKind {
        self.get().kind.into()
    }
    /// The problem's code or the alert's id.
    async fn key(&self) -> &str {
        &self.get().key
    }
    /// The problem (for a problem item).
    async fn problem(&self) -> Option<Problem> {
        match self.get().kind {
            abe_analytics::gaps::ItemKind::Problem => self
                .answer
                .problems
                .get(&self.get().key)
                .cloned()
                .map(Problem),
            abe_analytics::gaps::ItemKind::Alert => None,
        }
    }
    /// The alert (for an alert item).
    async fn alert(&self) -> Option<crate::alerts::Alert> {
        match self.get().kind {
            abe_analytics::gaps::ItemKind::Alert => self
                .answer
                .alerts
                .get(&self.get().key)
                .cloned()
                .map(crate::alerts::Alert),
            abe_analytics::gaps::ItemKind::Problem => None,
        }
    }
    /// Code of its area.
    async fn area_code(&self) -> &str {
        &self.get().area_code
    }
    /// Its area.
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, self.get().area_code.clone()).await
    }
    /// Its topic's code (an alert of an indicator without a topic has none).
    async fn topic_code(&self) -> Option<&str> {
        self.get().topic.as_deref()
    }
    /// Its topic.
    async fn topic(&self, ctx: &Context<'_>) -> Result<Option<Topic>> {
        match &self.get().topic {
            Some(t) => load_node(&ctx.data::<Loaders>()?.topics, t.clone()).await,
            None => Ok(None),
        }
    }
    /// How serious (a critical alert is high, a warning medium).
    async fn severity(&self) -> ProblemSeverity {
        self.get().severity.into()
    }
    /// Children concerned, when a problem says.
    async fn children(&self) -> Option<i64> {
        self.get().children.map(|c| c as i64)
    }
    /// Whether a resource covers it.
    async fn covered(&self) -> bool {
        self.get().covered()
    }
    /// The resources of its topic named for its area or an area above.
    async fn covering(&self) -> Vec<Resource> {
        self.resources(self.get().covering.iter())
    }
    /// Uncovered: resources of its topic nearby (same district, then same province).
    async fn nearby(&self) -> Vec<NearbyResource> {
        self.get()
            .nearby
            .iter()
            .filter_map(|n| {
                self.answer
                    .resources
                    .get(&n.resource)
                    .map(|r| NearbyResource {
                        resource: r.clone(),
                        distance: n.distance.into(),
                    })
            })
            .collect()
    }
    /// Uncovered: resources of other topics available in its area.
    async fn other_topics_here(&self) -> Vec<Resource> {
        self.resources(self.get().other_topics_here.iter())
    }
}

/// An amount in one unit.
#[derive(SimpleObject)]
pub struct UnitAmount {
    /// The unit.
    pub unit: ResourceUnit,
    /// The sum.
    pub amount: f64,
}

/// Coverage of one topic or one area in a gap report.
pub struct GapCoverage {
    answer: std::sync::Arc<abe_analytics::GapAnswer>,
    list: fn(&abe_analytics::GapReport) -> &Vec<abe_analytics::gaps::Coverage>,
    index: usize,
    by_area: bool,
}

impl GapCoverage {
    fn get(&self) -> &abe_analytics::gaps::Coverage {
        &(self.list)(&self.answer.report)[self.index]
    }
}

#[Object]
impl GapCoverage {
    /// The topic's code (coverage by topic).
    async fn topic_code(&self) -> Option<&str> {
        (!self.by_area).then_some(self.get().key.as_str())
    }
    /// The topic (coverage by topic).
    async fn topic(&self, ctx: &Context<'_>) -> Result<Option<Topic>> {
        if self.by_area {
            return Ok(None);
        }
        load_node(&ctx.data::<Loaders>()?.topics, self.get().key.clone()).await
    }
    /// The area's code (coverage by area).
    async fn area_code(&self) -> Option<&str> {
        self.by_area.then_some(self.get().key.as_str())
    }
    /// The area (coverage by area).
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        if !self.by_area {
            return Ok(None);
        }
        load_node(&ctx.data::<Loaders>()?.areas, self.get().key.clone()).await
    }
    /// Problems and alerts.
    async fn items(&self) -> i64 {
        self.get().items as i64
    }
    /// Of them, covered by a resource.
    async fn covered(&self) -> i64 {
        self.get().covered as i64
    }
    /// Of them, uncovered.
    async fn uncovered(&self) -> i64 {
        (self.get().items - self.get().covered) as i64
    }
    /// Share covered, 0 to 1 (1 with no items).
    async fn share_covered(&self) -> f64 {
        self.get().share()
    }
    /// Items of high severity.
    async fn high(&self) -> i64 {
        self.get().high as i64
    }
    /// Open critical alerts.
    async fn critical_alerts(&self) -> i64 {
        self.get().critical_alerts as i64
    }
    /// Children concerned, over the problems that say.
    async fn children(&self) -> i64 {
        self.get().children as i64
    }
    /// Children concerned by uncovered problems.
    async fn children_uncovered(&self) -> i64 {
        self.get().children_uncovered as i64
    }
    /// Resources: of the topic in the area (by topic), or named for the area or under
    /// it (by area).
    async fn resources(&self) -> i64 {
        self.get().resources as i64
    }
    /// By area: resources available there, those named for an area above included.
    async fn resources_available(&self) -> Option<i64> {
        self.by_area
            .then_some(self.get().resources_available as i64)
    }
    /// Amounts of those resources by unit.
    async fn amounts(&self) -> Result<Vec<UnitAmount>> {
        self.get()
            .amounts
            .iter()
            .map(|a| {
                Ok(UnitAmount {
                    unit: parse_word::<abe_schema::ResourceUnit>(&a.unit, "unit")?.into(),
                    amount: a.amount,
                })
            })
            .collect()
    }
}

/// The gap analysis.
#[derive(Default)]
pub struct GapQuery;

#[Object]
impl GapQuery {
    /// The gap analysis of `area` and the areas under it: each problem and open alert
    /// with the resources that cover its area and topic, the uncovered ones with the
    /// nearest resources of their topic, coverage by topic and by area worst first, and
    /// the areas with the most critical alerts and the fewest resources. Resources in
    /// force on `on` (today when omitted); `topics` narrows to those topics.
    async fn gaps(
        &self,
        ctx: &Context<'_>,
        area: String,
        topics: Option<Vec<String>>,
        on: Option<NaiveDate>,
    ) -> Result<GapReport> {
        let (area, _) = abe_schema::thai::normalise_area_code(&area)
            .map_err(|e| Code::BadInput.error(format!("area: {e}")))?;
        let answer = ctx
            .data::<crate::Operations>()?
            .analytics
            .gaps(
                &area,
                &topics.unwrap_or_default(),
                on.unwrap_or_else(|| Utc::now().date_naive()),
            )
            .await
            .map_err(failure)?;
        Ok(GapReport(std::sync::Arc::new(answer)))
    }
}
