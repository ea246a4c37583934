<?xml version="1.0" encoding="UTF-8"?>
<!--
  /oai's answers (OAI-PMH 2.0: every verb and error) as a page for a person who opens the address in a browser.
  Harvesters never see this: they read the XML.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:oai="http://www.openarchives.org/OAI/2.0/"
    xmlns:id="http://www.openarchives.org/OAI/2.0/oai-identifier"
    exclude-result-prefixes="oai id">
  <xsl:include href="common.xsl"/>
  <xsl:output method="html" encoding="UTF-8" doctype-system="about:legacy-compat"/>

  <xsl:variable name="verb" select="/oai:OAI-PMH/oai:request/@verb"/>

  <xsl:template match="/">
    <xsl:call-template name="page">
      <xsl:with-param name="title">OAI-PMH <xsl:value-of select="$verb"/></xsl:with-param>
      <xsl:with-param name="body"><xsl:apply-templates select="oai:OAI-PMH"/></xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="oai:OAI-PMH">
    <h1>OAI-PMH<xsl:if test="$verb"><xsl:text> · </xsl:text><xsl:value-of select="$verb"/></xsl:if></h1>
    <nav class="verbs" aria-label="OAI-PMH">
      <a href="oai?verb=Identify">库的说明 <span class="en" lang="en">Identify</span></a>
      <a href="oai?verb=ListSets">集合 <span class="en" lang="en">Sets</span></a>
      <a href="oai?verb=ListMetadataFormats">元数据格式 <span class="en" lang="en">Formats</span></a>
      <a href="oai?verb=ListRecords&amp;metadataPrefix=oai_dc">全部记录 <span class="en" lang="en">All records</span></a>
    </nav>
    <p class="meta">应答时间 <span class="en" lang="en">Response date</span>：<xsl:value-of select="oai:responseDate"/>
      <xsl:for-each select="oai:request/@*[name() != 'verb']"> · <code><xsl:value-of select="name()"/>=<xsl:value-of select="."/></code></xsl:for-each></p>
    <xsl:apply-templates select="oai:error | oai:Identify | oai:ListSets | oai:ListMetadataFormats | oai:ListIdentifiers | oai:ListRecords | oai:GetRecord"/>
  </xsl:template>

  <xsl:template match="oai:error">
    <div class="diagnostic" role="alert">
      <p><strong>错误 <span lang="en">Error</span><xsl:text> </xsl:text><code><xsl:value-of select="@code"/></code></strong>：<xsl:call-template name="error-zh"><xsl:with-param name="code" select="@code"/></xsl:call-template></p>
      <p class="meta"><xsl:value-of select="."/></p>
    </div>
  </xsl:template>

  <xsl:template match="oai:Identify">
    <table class="facts" id="identify">
      <xsl:call-template name="row"><xsl:with-param name="zh">库名</xsl:with-param><xsl:with-param name="en">Repository</xsl:with-param><xsl:with-param name="value" select="string(oai:repositoryName)"/></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="zh">接口地址</xsl:with-param><xsl:with-param name="en">Base URL</xsl:with-param><xsl:with-param name="value" select="string(oai:baseURL)"/></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="zh">协议版本</xsl:with-param><xsl:with-param name="en">Protocol version</xsl:with-param><xsl:with-param name="value" select="string(oai:protocolVersion)"/></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="zh">管理员邮箱</xsl:with-param><xsl:with-param name="en">Admin e-mail</xsl:with-param><xsl:with-param name="value" select="string(oai:adminEmail)"/></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="zh">最早时间戳</xsl:with-param><xsl:with-param name="en">Earliest datestamp</xsl:with-param><xsl:with-param name="value" select="string(oai:earliestDatestamp)"/></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="zh">已删除记录</xsl:with-param><xsl:with-param name="en">Deleted records</xsl:with-param><xsl:with-param name="value" select="string(oai:deletedRecord)"/></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="zh">时间粒度</xsl:with-param><xsl:with-param name="en">Granularity</xsl:with-param><xsl:with-param name="value" select="string(oai:granularity)"/></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="zh">记录标识示例</xsl:with-param><xsl:with-param name="en">Sample identifier</xsl:with-param><xsl:with-param name="value" select="string(.//id:sampleIdentifier)"/></xsl:call-template>
    </table>
  </xsl:template>

  <xsl:template match="oai:ListSets">
    <table id="sets">
      <thead><tr><th scope="col">setSpec</th><th scope="col">名称 <span class="en" lang="en">Name</span></th><th scope="col">记录 <span class="en" lang="en">Records</span></th></tr></thead>
      <tbody>
        <xsl:for-each select="oai:set">
          <tr>
            <td><code><xsl:value-of select="oai:setSpec"/></code></td>
            <td><xsl:value-of select="oai:setName"/></td>
            <td><a href="oai?verb=ListRecords&amp;metadataPrefix=oai_dc&amp;set={oai:setSpec}">oai_dc</a> · <a href="oai?verb=ListRecords&amp;metadataPrefix=marcxml&amp;set={oai:setSpec}">marcxml</a></td>
          </tr>
        </xsl:for-each>
      </tbody>
    </table>
  </xsl:template>

  <xsl:template match="oai:ListMetadataFormats">
    <table id="formats">
      <thead><tr><th scope="col">metadataPrefix</th><th scope="col">schema</th><th scope="col">namespace</th></tr></thead>
      <tbody>
        <xsl:for-each select="oai:metadataFormat">
          <tr><td><a href="oai?verb=ListRecords&amp;metadataPrefix={oai:metadataPrefix}"><code><xsl:value-of select="oai:metadataPrefix"/></code></a></td>
            <td><xsl:value-of select="oai:schema"/></td><td><xsl:value-of select="oai:metadataNamespace"/></td></tr>
        </xsl:for-each>
      </tbody>
    </table>
  </xsl:template>

  <xsl:template match="oai:ListIdentifiers">
    <table id="identifiers">
      <thead><tr><th scope="col">标识 <span class="en" lang="en">Identifier</span></th><th scope="col">时间戳 <span class="en" lang="en">Datestamp</span></th><th scope="col">集合 <span class="en" lang="en">Sets</span></th></tr></thead>
      <tbody>
        <xsl:for-each select="oai:header">
          <tr>
            <td><a href="oai?verb=GetRecord&amp;metadataPrefix=oai_dc&amp;identifier={oai:identifier}"><xsl:value-of select="oai:identifier"/></a></td>
            <td><xsl:value-of select="oai:datestamp"/></td>
            <td><xsl:for-each select="oai:setSpec"><code><xsl:value-of select="."/></code><xsl:text> </xsl:text></xsl:for-each></td>
          </tr>
        </xsl:for-each>
      </tbody>
    </table>
    <xsl:apply-templates select="oai:resumptionToken"/>
  </xsl:template>

  <xsl:template match="oai:ListRecords | oai:GetRecord">
    <xsl:for-each select="oai:record">
      <section class="oai-record">
        <p class="meta"><code><xsl:value-of select="oai:header/oai:identifier"/></code> · <xsl:value-of select="oai:header/oai:datestamp"/>
          <xsl:for-each select="oai:header/oai:setSpec"> · <code><xsl:value-of select="."/></code></xsl:for-each></p>
        <xsl:apply-templates select="oai:metadata/*"/>
      </section>
    </xsl:for-each>
    <xsl:apply-templates select="oai:resumptionToken"/>
  </xsl:template>

  <xsl:template match="oai:resumptionToken">
    <p class="pager" id="resumption">
      <span>共 <xsl:value-of select="@completeListSize"/> 条，本页从第 <xsl:value-of select="@cursor + 1"/> 条起
        <span class="en" lang="en"><xsl:value-of select="@completeListSize"/> in all, this page from no. <xsl:value-of select="@cursor + 1"/></span></span>
      <xsl:if test="string(.)">
        <a id="next-page" href="oai?verb={$verb}&amp;resumptionToken={.}">下一页 <span lang="en">Next page</span></a>
      </xsl:if>
    </p>
  </xsl:template>

  <!-- OAI-PMH's errors, in Chinese. -->
  <xsl:template name="error-zh">
    <xsl:param name="code"/>
    <xsl:choose>
      <xsl:when test="$code = 'badVerb'">缺少 verb 或不是 OAI-PMH 的操作</xsl:when>
      <xsl:when test="$code = 'badArgument'">参数不对（未知、缺少、重复或格式错误）</xsl:when>
      <xsl:when test="$code = 'badResumptionToken'">续取标记无效或已过期</xsl:when>
      <xsl:when test="$code = 'cannotDisseminateFormat'">不提供这种元数据格式</xsl:when>
      <xsl:when test="$code = 'idDoesNotExist'">没有这条记录</xsl:when>
      <xsl:when test="$code = 'noRecordsMatch'">没有符合条件的记录</xsl:when>
      <xsl:when test="$code = 'noSetHierarchy'">不提供集合</xsl:when>
      <xsl:when test="$code = 'noMetadataFormats'">这条记录没有可用的元数据格式</xsl:when>
      <xsl:otherwise>错误</xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
