Â
"serve¶
E
xPlaceholder*&
_output_shapes
:*
dtype0

wConst*
dtype0
E
convConv2Dxw*
T0*&
_output_shapes
:

reluReluconv*
T0

idIdentityrelu*
T0

meanMeanidw*
T0
'
c0Reluc9	missing:0^c3*
T0
'
c1Reluc0	missing:0^c3*
T0
'
c2Reluc1	missing:0^c3*
T0
'
c3Reluc2	missing:0^c3*
T0
'
c4Reluc3	missing:0^c3*
T0
'
c5Reluc4	missing:0^c3*
T0
'
c6Reluc5	missing:0^c3*
T0
'
c7Reluc6	missing:0^c3*
T0
'
c8Reluc7	missing:0^c3*
T0
'
c9Reluc8	missing:0^c3*
T0

sinkReluc9*
T0