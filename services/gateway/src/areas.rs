//! Areas, schools and agencies: the reference side of the graph.

use crate::connection::{paged, text_cursor, Conn};
use crate::error::{failure, CodeExt};
use crate::loaders::{load_node, Loaders};
use crate::store;
use abe_schema::Code;
use abe_store::{AreaFilter, Removal, SchoolFilter};
use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, Result, SimpleObject};

/// Level of an area in the Thai hierarchy.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::AreaLevel")]
pub enum AreaLevel {
    /// จังหวัด (2-digit code).
    Province,
    /// อำเภอ / เขต (4-digit code).
    District,
    /// ตำบล / แขวง (6-digit code).
    Subdistrict,
}

/// Kind of agency.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::AgencyKind")]
pub enum AgencyKind {
    /// Ministry, department or provincial office.
    Government,
    /// A school.
    School,
    /// Non-governmental organisation.
    Ngo,
    /// Company or private foundation.
    Private,
    /// Civil-society network.
    CivilSociety,
    /// Community organisation.
    Community,
    /// Local government.
    LocalGovernment,
}

/// A province, district or subdistrict.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Area {
    /// DOPA code: 2 digits for a province, 4 for a district, 6 for a subdistrict.
    pub code: String,
    /// Level.
    pub level: AreaLevel,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: Option<String>,
    #[graphql(skip)]
    pub parent_code: Option<String>,
}

impl From<abe_schema::AreaRow> for Area {
    fn from(r: abe_schema::AreaRow) -> Self {
        Area {
            code: r.code,
            level: r.level.into(),
            name_th: r.name_th,
            name_en: r.name_en,
            parent_code: r.parent_code,
        }
    }
}

#[ComplexObject]
impl Area {
    /// The area this one is part of; null for a province.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        match &self.parent_code {
            Some(code) => load_node(&ctx.data::<Loaders>()?.areas, code.clone()).await,
            None => Ok(None),
        }
    }

    /// The areas directly below this one.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Area>> {
        let filter = AreaFilter {
            parent: Some(self.code.clone()),
            ..Default::default()
        };
        areas_page(ctx, filter, first, after).await
    }

    /// Schools in this area and the areas below it.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<School>> {
        let filter = SchoolFilter {
            area: Some(self.code.clone()),
            codes: None,
        };
        schools_page(ctx, filter, first, after).await
    }
}

/// A school.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct School {
    /// School code.
    pub code: String,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: Option<String>,
    /// Affiliation, e.g. OBEC, LAO.
    pub affiliation: Option<String>,
    /// Levels taught.
    pub levels: Option<String>,
    /// Code of the area the school is in.
    pub area_code: String,
}

impl From<abe_schema::SchoolRow> for School {
    fn from(r: abe_schema::SchoolRow) -> Self {
        School {
            code: r.code,
            name_th: r.name_th,
            name_en: r.name_en,
            affiliation: r.affiliation,
            levels: r.levels,
            area_code: r.area_code,
        }
    }
}

#[ComplexObject]
impl School {
    /// The area the school is in.
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, self.area_code.clone()).await
    }
}

/// An organisation that owns sources.
#[derive(SimpleObject)]
pub struct Agency {
    /// Code.
    pub code: String,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: Option<String>,
    /// Kind.
    pub kind: AgencyKind,
}

impl From<abe_schema::Agency> for Agency {
    fn from(r: abe_schema::Agency) -> Self {
        Agency {
            code: r.code,
            name_th: r.name_th,
            name_en: r.name_en,
            kind: r.kind.into(),
        }
    }
}

/// Which areas to list.
#[derive(InputObject, Default)]
pub struct AreaFilterInput {
    /// Only this level.
    pub level: Option<AreaLevel>,
    /// Only children of this area code.
    pub parent: Option<String>,
    /// Only these codes.
    pub codes: Option<Vec<String>>,
}

/// Which schools to list.
#[derive(InputObject, Default)]
pub struct SchoolFilterInput {
    /// Schools in this area or below it.
    pub area: Option<String>,
    /// Only these codes.
    pub codes: Option<Vec<String>>,
}

async fn areas_page(
    ctx: &Context<'_>,
    filter: AreaFilter,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<Area>> {
    let store = store(ctx)?;
    paged(
        first,
        after,
        text_cursor,
        |after, first| store.areas(&filter, after, first),
        |a| a.code.clone(),
        |a| Ok(Area::from(a)),
    )
    .await
}

async fn schools_page(
    ctx: &Context<'_>,
    filter: SchoolFilter,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<School>> {
    let store = store(ctx)?;
    paged(
        first,
        after,
        text_cursor,
        |after, first| store.schools(&filter, after, first),
        |s| s.code.clone(),
        |s| Ok(School::from(s)),
    )
    .await
}

/// Queries of the reference side.
#[derive(Default)]
pub struct AreaQuery;

#[Object]
impl AreaQuery {
    /// Areas, by code.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn areas(
        &self,
        ctx: &Context<'_>,
        filter: Option<AreaFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Area>> {
        let filter = filter.unwrap_or_default();
        let filter = AreaFilter {
            level: filter
                .level
                .map(|l| abe_schema::AreaLevel::from(l).as_str().to_string()),
            parent: filter.parent,
            codes: filter.codes,
        };
        areas_page(ctx, filter, first, after).await
    }

    /// One area by code.
    async fn area(&self, ctx: &Context<'_>, code: String) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, code).await
    }

    /// Schools, by code.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        filter: Option<SchoolFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<School>> {
        let filter = filter.unwrap_or_default();
        let filter = SchoolFilter {
            area: filter.area,
            codes: filter.codes,
        };
        schools_page(ctx, filter, first, after).await
    }

    /// One school by code.
    async fn school(&self, ctx: &Context<'_>, code: String) -> Result<Option<School>> {
        load_node(&ctx.data::<Loaders>()?.schools, code).await
    }

    /// Agencies, by code.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn agencies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Agency>> {
        let store = store(ctx)?;
        paged(
            first,
            after,
            text_cursor,
            |after, first| store.agencies(None, after, first),
            |a| a.code.clone(),
            |a| Ok(Agency::from(a)),
        )
        .await
    }
}

/// Removing reference rows loaded by mistake. Each needs the admin token.
#[derive(Default)]
pub struct ReferenceMutation;

#[Object]
impl ReferenceMutation {
    /// Removes an area loaded by mistake. Refused (IN_USE) while areas below it,
    /// schools in it or observations about it remain: remove or reload those first.
    /// A connector that loads the area again brings it back.
    async fn remove_area(&self, ctx: &Context<'_>, code: String) -> Result<bool> {
        let operations = ctx.data::<crate::Operations>()?;
        operations.authorize(ctx)?;
        let removal = store(ctx)?.remove_area(&code).await.map_err(failure)?;
        answer_removal("area", &code, removal)
    }

    /// Removes a school loaded by mistake. Refused (IN_USE) while observations about it
    /// remain.
    async fn remove_school(&self, ctx: &Context<'_>, code: String) -> Result<bool> {
        let operations = ctx.data::<crate::Operations>()?;
        operations.authorize(ctx)?;
        let removal = store(ctx)?.remove_school(&code).await.map_err(failure)?;
        answer_removal("school", &code, removal)
    }
}

/// The answer to a removal: `true`, or the error saying why nothing was removed.
fn answer_removal(what: &str, code: &str, removal: Removal) -> Result<bool> {
    match removal {
        Removal::Removed => {
            // Nothing changes silently: the log says who removed what.
            tracing::info!(what, code, "reference row removed through the API");
            Ok(true)
        }
        Removal::NotFound => Err(Code::NotFound.error(format!("no {what} {code}"))),
        Removal::InUse(d) => Err(Code::InUse.error(format!(
            "{what} {code} is still referred to by {} areas, {} schools and {} observations; \
             nothing was removed",
            d.areas, d.schools, d.observations
        ))),
    }
}
