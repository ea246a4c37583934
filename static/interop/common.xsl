<?xml version="1.0" encoding="UTF-8"?>
<!--
  What sru.xsl and oai.xsl share: the page around an answer (the site's stylesheets, a link to /opendata), and
  the records as people read them (MARC 21 slim and Dublin Core).  XSLT 1.0, as browsers run it.  Chinese first,
  English after it in <span class="en">.  The answer's XML is not changed: programs read it as it is.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:marc="http://www.loc.gov/MARC21/slim"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:srw_dc="info:srw/schema/1/dc-schema"
    xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
    exclude-result-prefixes="marc dc srw_dc oai_dc">

  <!-- The static files' address, from the answer's own xml-stylesheet instruction (…/static/interop/x.xsl). -->
  <xsl:variable name="static"
      select="substring-before(substring-after(/processing-instruction('xml-stylesheet'), 'href=&quot;'), 'interop/')"/>

  <xsl:template name="page">
    <xsl:param name="title"/>
    <xsl:param name="body"/>
    <html lang="zh-Hans">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/></title>
        <link rel="stylesheet" href="{$static}shuyuan.css"/>
        <link rel="stylesheet" href="{$static}interop/interop.css"/>
      </head>
      <body>
        <header class="site">
          <div class="bar">
            <a class="brand" href="./">法官书苑</a>
            <nav><a href="opendata">开放数据接口 <span lang="en">Open data</span></a></nav>
          </div>
        </header>
        <main id="content">
          <p class="machine-note" id="machine-note">这是供图书馆系统读取的 XML 接口，浏览器按样式表显示；接口说明见
            <a href="opendata">开放数据接口</a>。
            <span class="en" lang="en">This is an XML interface for library systems, shown through a stylesheet;
              see <a href="opendata">Open data</a> for what it offers.</span></p>
          <xsl:copy-of select="$body"/>
        </main>
        <footer class="site">法官书苑 · <a href="opendata">开放数据接口 <span lang="en">Open data</span></a></footer>
      </body>
    </html>
  </xsl:template>

  <!-- A heading or label: Chinese, then English. -->
  <xsl:template name="label">
    <xsl:param name="zh"/>
    <xsl:param name="en"/>
    <xsl:value-of select="$zh"/><xsl:text> </xsl:text><span class="en" lang="en"><xsl:value-of select="$en"/></span>
  </xsl:template>

  <xsl:template name="row">
    <xsl:param name="zh"/>
    <xsl:param name="en"/>
    <xsl:param name="value"/>
    <xsl:if test="string($value)">
      <tr>
        <th scope="row"><xsl:call-template name="label"><xsl:with-param name="zh" select="$zh"/><xsl:with-param name="en" select="$en"/></xsl:call-template></th>
        <td><xsl:copy-of select="$value"/></td>
      </tr>
    </xsl:if>
  </xsl:template>

  <!-- MARC 21 slim: the main facts, the holdings, then every field.  A title or name with an 880 field in the
       original script (its $6 "880-NN" linking to the 880 whose $6 is "TAG-NN") shows that first and the
       romanised form after it, as the book's own page does. -->
  <xsl:template match="marc:record">
    <xsl:variable name="romanised">
      <xsl:value-of select="marc:datafield[@tag='245']/marc:subfield[@code='a']"/>
      <xsl:for-each select="marc:datafield[@tag='245']/marc:subfield[@code='b']"> : <xsl:value-of select="."/></xsl:for-each>
    </xsl:variable>
    <xsl:variable name="original245" select="marc:datafield[@tag='880'][substring(marc:subfield[@code='6'], 1, 4) = '245-'][1]"/>
    <xsl:variable name="original">
      <xsl:value-of select="$original245/marc:subfield[@code='a']"/>
      <xsl:for-each select="$original245/marc:subfield[@code='b']"> : <xsl:value-of select="."/></xsl:for-each>
    </xsl:variable>
    <article class="card record">
      <xsl:choose>
        <xsl:when test="string($original)">
          <h3><xsl:value-of select="$original"/></h3>
          <p class="meta romanised"><xsl:value-of select="$romanised"/></p>
        </xsl:when>
        <xsl:otherwise><h3><xsl:value-of select="$romanised"/></h3></xsl:otherwise>
      </xsl:choose>
      <table class="facts">
        <xsl:call-template name="row">
          <xsl:with-param name="zh">责任者</xsl:with-param><xsl:with-param name="en">Authors</xsl:with-param>
          <xsl:with-param name="value">
            <xsl:for-each select="marc:datafield[@tag='100' or @tag='110' or @tag='700' or @tag='710'][marc:subfield[@code='a']]">
              <xsl:variable name="link" select="concat(@tag, '-', substring(marc:subfield[@code='6'], 5, 2))"/>
              <xsl:variable name="vernacular"
                  select="../marc:datafield[@tag='880'][substring(marc:subfield[@code='6'], 1, 6) = $link]/marc:subfield[@code='a']"/>
              <xsl:if test="position() &gt; 1">；</xsl:if>
              <xsl:choose>
                <xsl:when test="marc:subfield[@code='6'] and string($vernacular)">
                  <xsl:value-of select="$vernacular"/>（<xsl:value-of select="marc:subfield[@code='a']"/>）</xsl:when>
                <xsl:otherwise><xsl:value-of select="marc:subfield[@code='a']"/></xsl:otherwise>
              </xsl:choose>
            </xsl:for-each>
          </xsl:with-param>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">出版</xsl:with-param><xsl:with-param name="en">Published</xsl:with-param>
          <xsl:with-param name="value">
            <xsl:variable name="published" select="marc:datafield[@tag='260' or @tag='264'][1]"/>
            <xsl:variable name="link" select="concat($published/@tag, '-', substring($published/marc:subfield[@code='6'], 5, 2))"/>
            <xsl:variable name="published880" select="marc:datafield[@tag='880'][$published/marc:subfield[@code='6']][substring(marc:subfield[@code='6'], 1, 6) = $link][1]"/>
            <xsl:for-each select="$published/marc:subfield[@code='a' or @code='b' or @code='c']">
              <xsl:if test="position() &gt; 1"><xsl:text> </xsl:text></xsl:if>
              <xsl:variable name="code" select="@code"/>
              <xsl:choose>
                <xsl:when test="string($published880/marc:subfield[@code=$code]) and string($published880/marc:subfield[@code=$code]) != string(.)">
                  <xsl:value-of select="$published880/marc:subfield[@code=$code]"/>（<xsl:value-of select="."/>）</xsl:when>
                <xsl:otherwise><xsl:value-of select="."/></xsl:otherwise>
              </xsl:choose>
            </xsl:for-each>
          </xsl:with-param>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">ISBN</xsl:with-param><xsl:with-param name="en"></xsl:with-param>
          <xsl:with-param name="value" select="string(marc:datafield[@tag='020']/marc:subfield[@code='a'])"/>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">主题</xsl:with-param><xsl:with-param name="en">Subjects</xsl:with-param>
          <xsl:with-param name="value">
            <xsl:for-each select="marc:datafield[@tag='650' or @tag='653']/marc:subfield[@code='a']">
              <xsl:if test="position() &gt; 1">；</xsl:if><xsl:value-of select="."/>
            </xsl:for-each>
          </xsl:with-param>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">摘要</xsl:with-param><xsl:with-param name="en">Summary</xsl:with-param>
          <xsl:with-param name="value" select="string(marc:datafield[@tag='520']/marc:subfield[@code='a'])"/>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">本馆页面</xsl:with-param><xsl:with-param name="en">Page</xsl:with-param>
          <xsl:with-param name="value">
            <xsl:for-each select="marc:datafield[@tag='856']/marc:subfield[@code='u'][1]">
              <a href="{.}"><xsl:value-of select="."/></a>
            </xsl:for-each>
          </xsl:with-param>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">控制号</xsl:with-param><xsl:with-param name="en">Control number</xsl:with-param>
          <xsl:with-param name="value" select="string(marc:controlfield[@tag='001'])"/>
        </xsl:call-template>
      </table>
      <xsl:if test="marc:datafield[@tag='852']">
        <table class="holdings">
          <caption><xsl:call-template name="label"><xsl:with-param name="zh">馆藏</xsl:with-param><xsl:with-param name="en">Holdings</xsl:with-param></xsl:call-template></caption>
          <thead><tr>
            <th scope="col"><xsl:call-template name="label"><xsl:with-param name="zh">馆藏地点</xsl:with-param><xsl:with-param name="en">Location</xsl:with-param></xsl:call-template></th>
            <th scope="col"><xsl:call-template name="label"><xsl:with-param name="zh">索书号</xsl:with-param><xsl:with-param name="en">Call number</xsl:with-param></xsl:call-template></th>
            <th scope="col"><xsl:call-template name="label"><xsl:with-param name="zh">在架</xsl:with-param><xsl:with-param name="en">Available</xsl:with-param></xsl:call-template></th>
          </tr></thead>
          <tbody>
            <xsl:for-each select="marc:datafield[@tag='852']">
              <tr>
                <td><xsl:value-of select="marc:subfield[@code='a']"/><xsl:text> </xsl:text><xsl:value-of select="marc:subfield[@code='b']"/></td>
                <td><xsl:value-of select="marc:subfield[@code='h']"/></td>
                <td><xsl:value-of select="marc:subfield[@code='z']"/></td>
              </tr>
            </xsl:for-each>
          </tbody>
        </table>
      </xsl:if>
      <details class="marc">
        <summary><xsl:call-template name="label"><xsl:with-param name="zh">全部 MARC 字段</xsl:with-param><xsl:with-param name="en">All MARC fields</xsl:with-param></xsl:call-template></summary>
        <table class="marc">
          <tr><td class="tag">LDR</td><td class="code"><xsl:value-of select="marc:leader"/></td></tr>
          <xsl:for-each select="marc:controlfield">
            <tr><td class="tag"><xsl:value-of select="@tag"/></td><td class="code"><xsl:value-of select="."/></td></tr>
          </xsl:for-each>
          <xsl:for-each select="marc:datafield">
            <tr>
              <td class="tag"><xsl:value-of select="@tag"/><xsl:text> </xsl:text><xsl:value-of select="translate(concat(@ind1, @ind2), ' ', '#')"/></td>
              <td><xsl:for-each select="marc:subfield"><b class="code">$<xsl:value-of select="@code"/></b><xsl:text> </xsl:text><xsl:value-of select="."/><xsl:text> </xsl:text></xsl:for-each></td>
            </tr>
          </xsl:for-each>
        </table>
      </details>
    </article>
  </xsl:template>

  <!-- Dublin Core (SRU's dc schema and OAI's oai_dc share the elements). -->
  <xsl:template match="srw_dc:dc | oai_dc:dc">
    <article class="card record">
      <h3><xsl:value-of select="dc:title[1]"/></h3>
      <table class="facts">
        <xsl:call-template name="row">
          <xsl:with-param name="zh">责任者</xsl:with-param><xsl:with-param name="en">Creators</xsl:with-param>
          <xsl:with-param name="value"><xsl:for-each select="dc:creator"><xsl:if test="position() &gt; 1">；</xsl:if><xsl:value-of select="."/></xsl:for-each></xsl:with-param>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">出版者</xsl:with-param><xsl:with-param name="en">Publisher</xsl:with-param>
          <xsl:with-param name="value" select="string(dc:publisher)"/>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">日期</xsl:with-param><xsl:with-param name="en">Date</xsl:with-param>
          <xsl:with-param name="value" select="string(dc:date)"/>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">主题</xsl:with-param><xsl:with-param name="en">Subjects</xsl:with-param>
          <xsl:with-param name="value"><xsl:for-each select="dc:subject"><xsl:if test="position() &gt; 1">；</xsl:if><xsl:value-of select="."/></xsl:for-each></xsl:with-param>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">类型</xsl:with-param><xsl:with-param name="en">Type</xsl:with-param>
          <xsl:with-param name="value"><xsl:for-each select="dc:type"><xsl:if test="position() &gt; 1">；</xsl:if><xsl:value-of select="."/></xsl:for-each></xsl:with-param>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">说明与馆藏</xsl:with-param><xsl:with-param name="en">Description and holdings</xsl:with-param>
          <xsl:with-param name="value"><xsl:for-each select="dc:description"><p><xsl:value-of select="."/></p></xsl:for-each></xsl:with-param>
        </xsl:call-template>
        <xsl:call-template name="row">
          <xsl:with-param name="zh">标识</xsl:with-param><xsl:with-param name="en">Identifiers</xsl:with-param>
          <xsl:with-param name="value">
            <xsl:for-each select="dc:identifier">
              <xsl:if test="position() &gt; 1"><br/></xsl:if>
              <xsl:choose>
                <xsl:when test="starts-with(., 'http://') or starts-with(., 'https://')"><a href="{.}"><xsl:value-of select="."/></a></xsl:when>
                <xsl:otherwise><xsl:value-of select="."/></xsl:otherwise>
              </xsl:choose>
            </xsl:for-each>
          </xsl:with-param>
        </xsl:call-template>
      </table>
    </article>
  </xsl:template>
</xsl:stylesheet>
