<?xml version="1.0" encoding="UTF-8"?>
<!--
  /sru's answers (SRU 1.2 and 2.0: explain, searchRetrieve, diagnostics) as a page for a person who opens the
  address in a browser.  Programs never see this: they read the XML.  SRU's own elements are matched by local
  name, so both versions' namespaces render alike.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:zr="http://explain.z3950.org/dtd/2.0/"
    exclude-result-prefixes="zr">
  <xsl:include href="common.xsl"/>
  <xsl:output method="html" encoding="UTF-8" doctype-system="about:legacy-compat"/>

  <xsl:template match="/">
    <xsl:variable name="kind" select="local-name(/*)"/>
    <xsl:call-template name="page">
      <xsl:with-param name="title">
        <xsl:choose>
          <xsl:when test="$kind = 'explainResponse'">SRU 接口说明 · SRU explain</xsl:when>
          <xsl:when test="$kind = 'searchRetrieveResponse'">SRU 检索结果 · SRU search results</xsl:when>
          <xsl:otherwise>SRU</xsl:otherwise>
        </xsl:choose>
      </xsl:with-param>
      <xsl:with-param name="body"><xsl:apply-templates select="/*"/></xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <!-- explain -->
  <xsl:template match="*[local-name() = 'explainResponse']">
    <xsl:variable name="explain" select=".//zr:explain"/>
    <h1><xsl:call-template name="label"><xsl:with-param name="zh">SRU 接口说明</xsl:with-param><xsl:with-param name="en">SRU explain</xsl:with-param></xsl:call-template></h1>
    <xsl:call-template name="diagnostics"/>
    <xsl:for-each select="$explain/zr:databaseInfo">
      <h2><xsl:value-of select="zr:title[1]"/><xsl:for-each select="zr:title[position() &gt; 1]"><xsl:text> </xsl:text><span class="en" lang="{@lang}"><xsl:value-of select="."/></span></xsl:for-each></h2>
      <xsl:for-each select="zr:description"><p lang="{@lang}"><xsl:value-of select="."/></p></xsl:for-each>
      <xsl:if test="zr:contact"><p class="meta">联系 <span class="en" lang="en">Contact</span>：<xsl:value-of select="zr:contact"/></p></xsl:if>
    </xsl:for-each>
    <xsl:call-template name="search-form">
      <xsl:with-param name="version" select="*[local-name() = 'version']"/>
    </xsl:call-template>
    <h2><xsl:call-template name="label"><xsl:with-param name="zh">CQL 检索点</xsl:with-param><xsl:with-param name="en">CQL indexes</xsl:with-param></xsl:call-template></h2>
    <div class="scroll-x"><table id="indexes">
      <thead><tr>
        <th scope="col"><xsl:call-template name="label"><xsl:with-param name="zh">检索点</xsl:with-param><xsl:with-param name="en">Index</xsl:with-param></xsl:call-template></th>
        <th scope="col"><xsl:call-template name="label"><xsl:with-param name="zh">检索内容</xsl:with-param><xsl:with-param name="en">Searches</xsl:with-param></xsl:call-template></th>
        <th scope="col"><xsl:call-template name="label"><xsl:with-param name="zh">可排序</xsl:with-param><xsl:with-param name="en">Sort</xsl:with-param></xsl:call-template></th>
      </tr></thead>
      <tbody>
        <xsl:for-each select="$explain/zr:indexInfo/zr:index">
          <tr>
            <td><code><xsl:value-of select="zr:map/zr:name/@set"/>.<xsl:value-of select="zr:map/zr:name"/></code></td>
            <td><xsl:value-of select="zr:title[1]"/><xsl:for-each select="zr:title[position() &gt; 1]"><xsl:text> </xsl:text><span class="en" lang="{@lang}"><xsl:value-of select="."/></span></xsl:for-each></td>
            <td><xsl:if test="@sort = 'true'">✓</xsl:if></td>
          </tr>
        </xsl:for-each>
      </tbody>
    </table></div>
    <h2><xsl:call-template name="label"><xsl:with-param name="zh">记录格式</xsl:with-param><xsl:with-param name="en">Record schemas</xsl:with-param></xsl:call-template></h2>
    <ul>
      <xsl:for-each select="$explain/zr:schemaInfo/zr:schema">
        <li><code>recordSchema=<xsl:value-of select="@name"/></code>（<code><xsl:value-of select="@identifier"/></code>）：<xsl:value-of select="zr:title"/></li>
      </xsl:for-each>
    </ul>
    <h2><xsl:call-template name="label"><xsl:with-param name="zh">默认值与限额</xsl:with-param><xsl:with-param name="en">Defaults and limits</xsl:with-param></xsl:call-template></h2>
    <table class="facts">
      <xsl:for-each select="$explain/zr:configInfo/*[local-name() = 'default' or local-name() = 'setting']">
        <tr><th scope="row"><code><xsl:value-of select="@type"/></code></th><td><xsl:value-of select="."/></td></tr>
      </xsl:for-each>
      <tr><th scope="row"><xsl:call-template name="label"><xsl:with-param name="zh">关系</xsl:with-param><xsl:with-param name="en">Relations</xsl:with-param></xsl:call-template></th>
        <td><code><xsl:for-each select="$explain/zr:configInfo/zr:supports[@type = 'relation']"><xsl:value-of select="."/><xsl:text> </xsl:text></xsl:for-each></code></td></tr>
      <tr><th scope="row"><xsl:call-template name="label"><xsl:with-param name="zh">布尔运算</xsl:with-param><xsl:with-param name="en">Booleans</xsl:with-param></xsl:call-template></th>
        <td><code><xsl:for-each select="$explain/zr:configInfo/zr:supports[@type = 'booleanOperator']"><xsl:value-of select="."/><xsl:text> </xsl:text></xsl:for-each></code></td></tr>
    </table>
  </xsl:template>

  <!-- searchRetrieve -->
  <xsl:template match="*[local-name() = 'searchRetrieveResponse']">
    <xsl:variable name="echo" select="*[local-name() = 'echoedSearchRetrieveRequest']"/>
    <xsl:variable name="count" select="*[local-name() = 'numberOfRecords']"/>
    <h1><xsl:call-template name="label"><xsl:with-param name="zh">检索结果</xsl:with-param><xsl:with-param name="en">Search results</xsl:with-param></xsl:call-template></h1>
    <xsl:if test="$echo/*[local-name() = 'query']">
      <p>检索式 <span class="en" lang="en">Query</span>：<code id="query"><xsl:value-of select="$echo/*[local-name() = 'query']"/></code></p>
    </xsl:if>
    <p id="count">共 <strong><xsl:value-of select="$count"/></strong> 条 <span class="en" lang="en"><xsl:value-of select="$count"/> records</span></p>
    <xsl:call-template name="diagnostics"/>
    <xsl:for-each select="*[local-name() = 'records']/*[local-name() = 'record']">
      <section class="sru-record">
        <p class="meta">第 <xsl:value-of select="*[local-name() = 'recordPosition']"/> 条 <span class="en" lang="en">No. <xsl:value-of select="*[local-name() = 'recordPosition']"/></span>
          · <code><xsl:value-of select="*[local-name() = 'recordSchema']"/></code></p>
        <xsl:variable name="data" select="*[local-name() = 'recordData']"/>
        <xsl:choose>
          <xsl:when test="$data/*"><xsl:apply-templates select="$data/*"/></xsl:when>
          <xsl:otherwise>
            <p class="meta">记录以转义的字符串返回（recordPacking=string），原样显示如下。
              <span class="en" lang="en">The record came as an escaped string (recordPacking=string), shown as it is.</span></p>
            <pre class="record"><xsl:value-of select="$data"/></pre>
          </xsl:otherwise>
        </xsl:choose>
      </section>
    </xsl:for-each>
    <xsl:variable name="next" select="*[local-name() = 'nextRecordPosition']"/>
    <xsl:if test="$next and $echo/*[local-name() = 'query']">
      <form method="get" action="sru" class="pager">
        <xsl:for-each select="$echo/*[local-name() != 'startRecord' and local-name() != 'version']">
          <input type="hidden" name="{local-name()}" value="{.}"/>
        </xsl:for-each>
        <input type="hidden" name="operation" value="searchRetrieve"/>
        <input type="hidden" name="version" value="1.2"/>
        <input type="hidden" name="startRecord" value="{$next}"/>
        <button type="submit" id="next-page">下一页 <span lang="en">Next page</span>（<xsl:value-of select="$next"/>）</button>
      </form>
    </xsl:if>
    <xsl:call-template name="search-form">
      <xsl:with-param name="version" select="*[local-name() = 'version']"/>
      <xsl:with-param name="query" select="$echo/*[local-name() = 'query']"/>
    </xsl:call-template>
  </xsl:template>

  <!-- Any other answer (scan): its diagnostics. -->
  <xsl:template match="*">
    <h1>SRU</h1>
    <xsl:call-template name="diagnostics"/>
  </xsl:template>

  <xsl:template name="search-form">
    <xsl:param name="version"/>
    <xsl:param name="query"/>
    <form method="get" action="sru" class="search-box" role="search">
      <input type="hidden" name="operation" value="searchRetrieve"/>
      <input type="hidden" name="version" value="{$version}"/>
      <input type="hidden" name="recordSchema" value="dc"/>
      <label class="visually-hidden" for="sru-query">CQL</label>
      <input type="search" id="sru-query" name="query" value="{$query}" placeholder="dc.title = 民法典"/>
      <button type="submit">试检索 <span lang="en">Try a search</span></button>
    </form>
  </xsl:template>

  <xsl:template name="diagnostics">
    <xsl:for-each select=".//*[local-name() = 'diagnostic']">
      <xsl:variable name="code" select="substring-after(*[local-name() = 'uri'], 'info:srw/diagnostic/1/')"/>
      <div class="diagnostic" role="alert">
        <p><strong>诊断 <span lang="en">Diagnostic</span><xsl:text> </xsl:text><xsl:value-of select="$code"/></strong>：<xsl:call-template name="diagnostic-zh"><xsl:with-param name="code" select="$code"/></xsl:call-template>
          <xsl:text> </xsl:text><span class="en" lang="en"><xsl:value-of select="*[local-name() = 'message']"/></span></p>
        <xsl:if test="string(*[local-name() = 'details'])">
          <p class="meta">详情 <span class="en" lang="en">Details</span>：<code><xsl:value-of select="*[local-name() = 'details']"/></code></p>
        </xsl:if>
        <p class="meta"><code><xsl:value-of select="*[local-name() = 'uri']"/></code></p>
      </div>
    </xsl:for-each>
  </xsl:template>

  <!-- The SRU diagnostics (info:srw/diagnostic/1/…) this server gives, in Chinese. -->
  <xsl:template name="diagnostic-zh">
    <xsl:param name="code"/>
    <xsl:choose>
      <xsl:when test="$code = '1'">系统错误</xsl:when>
      <xsl:when test="$code = '2'">系统暂时不可用（或请求过于频繁）</xsl:when>
      <xsl:when test="$code = '4'">不支持的操作</xsl:when>
      <xsl:when test="$code = '5'">不支持的版本</xsl:when>
      <xsl:when test="$code = '6'">参数值不受支持</xsl:when>
      <xsl:when test="$code = '7'">缺少必需的参数</xsl:when>
      <xsl:when test="$code = '8'">不支持的参数</xsl:when>
      <xsl:when test="$code = '10'">检索式语法错误</xsl:when>
      <xsl:when test="$code = '12'">检索式过长</xsl:when>
      <xsl:when test="$code = '15'">不支持的上下文集</xsl:when>
      <xsl:when test="$code = '16'">不支持的检索点</xsl:when>
      <xsl:when test="$code = '19'">不支持的关系</xsl:when>
      <xsl:when test="$code = '20'">不支持的关系修饰符</xsl:when>
      <xsl:when test="$code = '27'">检索词为空</xsl:when>
      <xsl:when test="$code = '28'">不支持词中的截词符</xsl:when>
      <xsl:when test="$code = '31'">不支持锚定符</xsl:when>
      <xsl:when test="$code = '36'">检索词的格式不适用于该检索点</xsl:when>
      <xsl:when test="$code = '37'">不支持的布尔运算符</xsl:when>
      <xsl:when test="$code = '38'">检索式中的检索项过多</xsl:when>
      <xsl:when test="$code = '46'">不支持的布尔修饰符</xsl:when>
      <xsl:when test="$code = '61'">起始记录位置超出结果范围</xsl:when>
      <xsl:when test="$code = '66'">不认识的记录格式</xsl:when>
      <xsl:when test="$code = '71'">不支持的记录打包方式</xsl:when>
      <xsl:when test="$code = '72'">不支持 XPath 提取</xsl:when>
      <xsl:when test="$code = '82'">不支持的排序方式</xsl:when>
      <xsl:when test="$code = '110'">不支持客户端指定的样式表</xsl:when>
      <xsl:otherwise>诊断</xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
