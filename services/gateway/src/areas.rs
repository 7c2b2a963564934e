//! Areas, schools and agencies: the reference side of the graph.

use crate::connection::{connection, page_args, text_cursor, Conn};
use crate::error::{corrupt, failure};
use crate::{loaders::Loaders, store};
use abe_store::{AgencyRecord, AreaFilter, AreaRecord, SchoolFilter, SchoolRecord};
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

impl TryFrom<AreaRecord> for Area {
    type Error = async_graphql::Error;
    fn try_from(r: AreaRecord) -> Result<Self> {
        let level: abe_schema::AreaLevel = r
            .level
            .parse()
            .map_err(|_| corrupt("area level", &r.level))?;
        Ok(Area {
            code: r.code,
            level: level.into(),
            name_th: r.name_th,
            name_en: r.name_en,
            parent_code: r.parent_code,
        })
    }
}

#[ComplexObject]
impl Area {
    /// The area this one is part of; null for a province.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        match &self.parent_code {
            Some(code) => ctx
                .data::<Loaders>()?
                .areas
                .load_one(code.clone())
                .await?
                .map(Area::try_from)
                .transpose(),
            None => Ok(None),
        }
    }

    /// The areas directly below this one.
    async fn children(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Area>> {
        let args = page_args(first, after, text_cursor)?;
        let filter = AreaFilter {
            parent: Some(self.code.clone()),
            ..Default::default()
        };
        let had = args.after.is_some();
        let page = store(ctx)?
            .areas(&filter, args.after, args.first)
            .await
            .map_err(failure)?;
        connection(page, had, |a| a.code.clone(), Area::try_from)
    }

    /// Schools in this area and the areas below it.
    async fn schools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<School>> {
        schools_page(
            ctx,
            SchoolFilter {
                area: Some(self.code.clone()),
                codes: None,
            },
            first,
            after,
        )
        .await
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

impl From<SchoolRecord> for School {
    fn from(r: SchoolRecord) -> Self {
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
        ctx.data::<Loaders>()?
            .areas
            .load_one(self.area_code.clone())
            .await?
            .map(Area::try_from)
            .transpose()
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

impl TryFrom<AgencyRecord> for Agency {
    type Error = async_graphql::Error;
    fn try_from(r: AgencyRecord) -> Result<Self> {
        let kind: abe_schema::AgencyKind = r
            .kind
            .parse()
            .map_err(|_| corrupt("agency kind", &r.kind))?;
        Ok(Agency {
            code: r.code,
            name_th: r.name_th,
            name_en: r.name_en,
            kind: kind.into(),
        })
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

async fn schools_page(
    ctx: &Context<'_>,
    filter: SchoolFilter,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<School>> {
    let args = page_args(first, after, text_cursor)?;
    let had = args.after.is_some();
    let page = store(ctx)?
        .schools(&filter, args.after, args.first)
        .await
        .map_err(failure)?;
    connection(page, had, |s| s.code.clone(), |s| Ok(School::from(s)))
}

/// Queries of the reference side.
#[derive(Default)]
pub struct AreaQuery;

#[Object]
impl AreaQuery {
    /// Areas, by code.
    async fn areas(
        &self,
        ctx: &Context<'_>,
        filter: Option<AreaFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Area>> {
        let args = page_args(first, after, text_cursor)?;
        let filter = filter.unwrap_or_default();
        let filter = AreaFilter {
            level: filter
                .level
                .map(|l| abe_schema::AreaLevel::from(l).as_str().to_string()),
            parent: filter.parent,
            codes: filter.codes,
        };
        let had = args.after.is_some();
        let page = store(ctx)?
            .areas(&filter, args.after, args.first)
            .await
            .map_err(failure)?;
        connection(page, had, |a| a.code.clone(), Area::try_from)
    }

    /// One area by code.
    async fn area(&self, ctx: &Context<'_>, code: String) -> Result<Option<Area>> {
        ctx.data::<Loaders>()?
            .areas
            .load_one(code)
            .await?
            .map(Area::try_from)
            .transpose()
    }

    /// Schools, by code.
    async fn schools(
        &self,
        ctx: &Context<'_>,
        filter: Option<SchoolFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<School>> {
        let filter = filter.unwrap_or_default();
        schools_page(
            ctx,
            SchoolFilter {
                area: filter.area,
                codes: filter.codes,
            },
            first,
            after,
        )
        .await
    }

    /// One school by code.
    async fn school(&self, ctx: &Context<'_>, code: String) -> Result<Option<School>> {
        Ok(ctx
            .data::<Loaders>()?
            .schools
            .load_one(code)
            .await?
            .map(School::from))
    }

    /// Agencies, by code.
    async fn agencies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Agency>> {
        let args = page_args(first, after, text_cursor)?;
        let had = args.after.is_some();
        let page = store(ctx)?
            .agencies(None, args.after, args.first)
            .await
            .map_err(failure)?;
        connection(page, had, |a| a.code.clone(), Agency::try_from)
    }
}
